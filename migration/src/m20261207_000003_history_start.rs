//! Where an asset's known balance history starts. A journal backfilled
//! from a database made before the journal said the asset held today's
//! balance since its creation; the gateway rebuilds such journals from the
//! audit trail after migrating (`service::journal_repair`), and where the
//! trail cannot, records here the instant from which the balance is known,
//! so that a read before it is an error instead of a wrong number.

use crate::columns::{a, ts_null};
use sea_orm_migration::prelude::*;

/// Adds `assets.history_starts_at`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000003_history_start"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("assets")).add_column(ts_null(a("history_starts_at"))).to_owned()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("assets")).drop_column(a("history_starts_at")).to_owned()).await
    }
}
