//! Assets: one balance per currency per account.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `assets`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "assets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub account_id: Uuid,
        pub currency_id: Uuid,
        /// ACTIVE or INACTIVE.
        pub status: String,
        pub available: crate::Amount,
        pub on_hold: crate::Amount,
        pub future: crate::Amount,
        pub credit_limit: crate::Amount,
        pub address: Option<String>,
        pub external_id: Option<String>,
        pub bank: Option<String>,
        pub platform: Option<String>,
        pub version: i32,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// Set where the balance before this instant is not known (a journal
        /// backfilled without an audit trail to rebuild it from).
        pub history_starts_at: Option<DateTimeUtc>,
    }
}

/// An asset belongs to an account, is denominated in one currency and has
/// wallets.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::currency::Entity", from = "Column::CurrencyId", to = "super::currency::Column::Id")]
    Currency,
    #[sea_orm(has_many = "super::wallet::Entity")]
    Wallets,
    #[sea_orm(belongs_to = "super::account::Entity", from = "Column::AccountId", to = "super::account::Column::Id")]
    Account,
}

impl Related<super::currency::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Currency.def()
    }
}

impl Related<super::account::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Account.def()
    }
}

impl Related<super::wallet::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Wallets.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
