//! Quotes as the price source gave them, kept for point-in-time valuation.
use sea_orm::entity::prelude::*;

/// One row of `quote_history`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "quote_history")]
pub struct Model {
    /// Currency code.
    #[sea_orm(primary_key, auto_increment = false)]
    pub currency: String,
    /// The source's timestamp.
    #[sea_orm(primary_key, auto_increment = false)]
    pub at: DateTimeUtc,
    /// USD per unit.
    pub rate: crate::Amount,
    /// Which source.
    pub source: String,
}

/// Read by currency and time only.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
