//! Accounts: the central table. Sub-accounts point at their parent.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `accounts`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        /// Auto-increment number, unique per organization.
        pub uid: i64,
        /// Generated reference with a check digit, unique per organization.
        pub account_number: String,
        pub name: String,
        pub alias: Option<String>,
        pub type_id: Uuid,
        /// CLIENT or SYSTEM.
        pub kind: String,
        pub system_role: Option<String>,
        /// `ROLE:CURRENCY` for system accounts, unique per organization, so that
        /// get-or-create of a system account is idempotent under concurrency.
        pub system_key: Option<String>,
        pub status: String,
        pub status_reason_code: Option<String>,
        pub status_reason_description: Option<String>,
        pub status_changed_at: DateTimeUtc,
        pub external_id: Option<String>,
        pub project_id: Option<Uuid>,
        pub owner_id: Option<Uuid>,
        pub parent_id: Option<Uuid>,
        /// 0 for a top-level account, parent depth + 1 below it.
        pub depth: i32,
        pub product_id: Option<String>,
        /// Seed 004's wallet account: another account of the organization.
        pub wallet_account_id: Option<Uuid>,
        pub allow_sending: bool,
        pub allow_receiving: bool,
        pub main: bool,
        pub accounting: bool,
        pub custody: Option<String>,
        /// `{accountNumber, bank, currency, typeAccount, country}` when custodied at a bank.
        pub custody_bank_account: Option<Json>,
        pub metadata: Json,
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub deleted_at: Option<DateTimeUtc>,
    }
}

/// Loaders query by key; these joins serve a single account's lookup,
/// which reads the account, its owner and its assets in one statement,
/// and a page of accounts, read with its owners and types.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::client::Entity", from = "Column::OwnerId", to = "super::client::Column::Id")]
    Owner,
    #[sea_orm(
        belongs_to = "super::account_type::Entity",
        from = "Column::TypeId",
        to = "super::account_type::Column::Id"
    )]
    Type,
    #[sea_orm(has_many = "super::asset::Entity")]
    Assets,
}

impl Related<super::client::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Owner.def()
    }
}

impl Related<super::account_type::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Type.def()
    }
}

impl Related<super::asset::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assets.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
