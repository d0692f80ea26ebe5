//! Which currency lives on which network (many to many).
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `currency_networks`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "currency_networks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub currency_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub network_id: Uuid,
        pub organization_id: Uuid,
    }
}

/// The network side is joined when listing a currency's networks.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::network::Entity", from = "Column::NetworkId", to = "super::network::Column::Id")]
    Network,
    #[sea_orm(belongs_to = "super::currency::Entity", from = "Column::CurrencyId", to = "super::currency::Column::Id")]
    Currency,
}

impl Related<super::network::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Network.def()
    }
}

impl Related<super::currency::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Currency.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
