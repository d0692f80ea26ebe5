//! Account types configured per organization (PERSONAL, SAVINGS, ...).
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `account_types`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "account_types")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub code: String,
        pub name: String,
        /// FIAT or CRYPTO where the type is bound to one.
        pub category: Option<String>,
        pub created_at: DateTimeUtc,
    }
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
