//! Wallets: on-chain addresses of an asset on one network.
use sea_orm::entity::prelude::*;

crate::positional! {
    /// One row of `wallets`.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    #[sea_orm(table_name = "wallets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub organization_id: Uuid,
        pub asset_id: Uuid,
        pub network_id: Uuid,
        pub address: String,
        pub active: bool,
        pub created_at: DateTimeUtc,
    }
}

/// A wallet lives on one network, forever, and holds one asset.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::network::Entity", from = "Column::NetworkId", to = "super::network::Column::Id")]
    Network,
    #[sea_orm(belongs_to = "super::asset::Entity", from = "Column::AssetId", to = "super::asset::Column::Id")]
    Asset,
}

impl Related<super::network::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Network.def()
    }
}

impl Related<super::asset::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Asset.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
