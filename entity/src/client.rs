//! Clients: the people and businesses that own accounts.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `clients`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "clients")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub external_id: Option<String>,
        pub name: String,
        pub email: Option<String>,
        /// PERSON or BUSINESS.
        pub kind: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
