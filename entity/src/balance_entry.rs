//! The balance journal: one immutable row per committed balance change.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `balance_entries`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "balance_entries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub asset_id: Uuid,
        /// Commit time.
        pub at: DateTimeUtc,
        pub actor: String,
        /// INITIAL, ADJUSTMENT, IMPORT or TRANSFER.
        pub cause: String,
        pub idempotency_key: Option<String>,
        pub delta_available: crate::Amount,
        pub delta_on_hold: crate::Amount,
        pub delta_future: crate::Amount,
        /// The balances right after this entry.
        pub available: crate::Amount,
        pub on_hold: crate::Amount,
        pub future: crate::Amount,
        pub credit_limit: crate::Amount,
        /// The transfer this row is one leg of (cause TRANSFER).
        pub transfer_id: Option<Uuid>,
    }
}

/// Rows are read by asset id through loaders.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
