//! Smart cards. The card number itself is never stored: only last4 and a keyed hash.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `smart_cards`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "smart_cards")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub account_id: Uuid,
        pub name: String,
        pub last4: String,
        /// HMAC-SHA256 of the full number under the server key, hex.
        #[serde(skip_serializing)]
        pub fingerprint: String,
        /// MM/YY as issued.
        pub expiration_date: String,
        pub active: bool,
        pub created_at: DateTimeUtc,
        /// Reason code given when the card was last deactivated.
        pub deactivation_reason_code: Option<String>,
        /// Reason text given when the card was last deactivated.
        pub deactivation_reason_description: Option<String>,
        /// When the card was last deactivated.
        pub deactivated_at: Option<DateTimeUtc>,
    }
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
