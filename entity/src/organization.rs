//! Tenants. Every other row belongs to exactly one organization.
use sea_orm::entity::prelude::*;

/// One row of `organizations`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// Last account `uid` handed out; bumped with `UPDATE .. RETURNING`
    /// so concurrent creators serialise on this row.
    pub account_seq: i64,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
