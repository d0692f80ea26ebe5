//! Relayed outbox rows are kept for a while (marked with the time they were
//! relayed) instead of deleted at once: if Redis dies before every replica
//! has read them, they are relayed again to the new Redis, and replicas
//! skip the ones they already delivered (by outbox id).

use sea_orm_migration::prelude::*;

/// Adds `event_outbox.relayed_ms` and its index.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000002_outbox_retention"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let c = m.get_connection();
        c.execute_unprepared("ALTER TABLE event_outbox ADD COLUMN relayed_ms BIGINT").await?;
        c.execute_unprepared("CREATE INDEX IF NOT EXISTS idx_event_outbox_relayed ON event_outbox (relayed_ms, id)")
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let c = m.get_connection();
        c.execute_unprepared("DROP INDEX IF EXISTS idx_event_outbox_relayed").await?;
        c.execute_unprepared("ALTER TABLE event_outbox DROP COLUMN relayed_ms").await?;
        Ok(())
    }
}
