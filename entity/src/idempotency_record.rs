//! Idempotency records: the first result of a keyed mutation, replayed on retry.
use sea_orm::entity::prelude::*;

/// One row of `idempotency_records`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "idempotency_records")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub key: String,
    /// Which operation and target the key was used for.
    pub scope: String,
    /// SHA-256 of the canonical request; the same key with another payload is a conflict.
    pub request_hash: String,
    pub response: Json,
    pub created_at: DateTimeUtc,
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
