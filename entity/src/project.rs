//! Projects group accounts inside an organization.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `projects`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "projects")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub name: String,
        pub created_at: DateTimeUtc,
    }
}

/// No relations are navigated through SeaORM here; loaders query by key.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
