//! The account event log: every committed change to an account or what it
//! holds, numbered per organization in commit order (`seq` 1, 2, 3, ...
//! with no hole), kept for the configured retention.
use sea_orm::entity::prelude::*;

/// One row of `account_events`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "account_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    /// The event's place in its organization's stream; the cursor.
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// Commit time in milliseconds since the epoch; PostgreSQL partitions
    /// the table by it, so retention drops whole partitions.
    pub at_ms: i64,
    pub account_id: Uuid,
    /// The event as JSON (the gateway's `DomainEvent`).
    pub payload: String,
}

/// Rows are read by (organization, seq) only.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
