//! Audit trail: one row per change, written in the change'\''s transaction.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `audit_events`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub at: DateTimeUtc,
        pub actor: String,
        pub action: String,
        pub entity_type: String,
        pub entity_id: Uuid,
        /// The account the change concerns (itself, or the owner of the asset,
        /// wallet or card), so an account's trail includes its parts.
        pub account_id: Option<Uuid>,
        pub before: Option<Json>,
        pub after: Option<Json>,
    }
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
