//! Crypto networks (ethereum, bitcoin, ...) configured per organization.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `networks`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "networks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub code: String,
        pub name: String,
        /// Regular expression the whole address must match (family PATTERN).
        pub address_pattern: Option<String>,
        pub created_at: DateTimeUtc,
        /// How addresses are checked: EVM, BITCOIN, TRON, SOLANA, IBAN, PATTERN or UNCHECKED.
        pub address_family: String,
    }
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
