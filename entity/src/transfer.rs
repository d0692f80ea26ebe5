//! Transfers between two assets of one currency and organization.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `transfers`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "transfers")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        /// Unique per organization: a replay returns this row.
        pub idempotency_key: String,
        /// SHA-256 of the canonical request; the same key with another input is a conflict.
        pub request_hash: String,
        pub from_asset_id: Uuid,
        pub to_asset_id: Uuid,
        pub from_account_id: Uuid,
        pub to_account_id: Uuid,
        pub currency_id: Uuid,
        pub amount: crate::Amount,
        /// Zero when no fee was taken (`fee_asset_id` is then null).
        pub fee: crate::Amount,
        /// The FEE_PAYER account's asset the fee went to.
        pub fee_asset_id: Option<Uuid>,
        pub reason: Option<String>,
        pub metadata: Option<Json>,
        pub actor: String,
        /// Commit time.
        pub at: DateTimeUtc,
    }
}

/// Rows are read by id, account or asset through loaders and pages.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
