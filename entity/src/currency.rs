//! Currencies (fiat ISO 4217 codes and crypto tickers) per organization.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `currencies`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "currencies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub code: String,
        pub name: String,
        pub symbol: String,
        /// FIAT or CRYPTO.
        #[sea_orm(column_name = "type")]
        pub currency_type: String,
        pub decimals: i32,
        pub created_at: DateTimeUtc,
    }
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
