//! API keys: only a hash of the secret is kept.
use sea_orm::entity::prelude::*;

/// One row of `api_keys`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub role: String,
    /// The visible start of the key, for listing and secret scanners.
    pub prefix: String,
    #[sea_orm(unique)]
    #[serde(skip_serializing)]
    pub key_hash: String,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
