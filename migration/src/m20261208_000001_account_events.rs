//! The account event log (v3): `accountEvents` replays it after a cursor.
//!
//! `event_sequences` holds each organization's last event number; a
//! committing transaction bumps it as its last statement, so the row lock
//! orders one organization's commits and the numbers have no hole.
//! On PostgreSQL `account_events` is partitioned by hour of commit
//! (`at_ms`): retention drops whole partitions instead of deleting rows.
//! The gateway creates the partitions ahead of time; the default partition
//! catches anything outside them, so an insert never fails for want of one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// Creates `event_sequences` and `account_events`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_account_events"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let statements: &[&str] = match m.get_database_backend() {
            DatabaseBackend::Postgres => &[
                "CREATE TABLE IF NOT EXISTS event_sequences (
                    organization_id UUID PRIMARY KEY,
                    last_seq BIGINT NOT NULL)",
                "CREATE TABLE IF NOT EXISTS account_events (
                    organization_id UUID NOT NULL,
                    seq BIGINT NOT NULL,
                    at_ms BIGINT NOT NULL,
                    account_id UUID NOT NULL,
                    payload TEXT NOT NULL,
                    PRIMARY KEY (organization_id, seq, at_ms)) PARTITION BY RANGE (at_ms)",
                "CREATE TABLE IF NOT EXISTS account_events_default PARTITION OF account_events DEFAULT",
            ],
            // SQLite binds UUIDs as blobs.
            _ => &[
                "CREATE TABLE IF NOT EXISTS event_sequences (
                    organization_id BLOB PRIMARY KEY,
                    last_seq INTEGER NOT NULL)",
                "CREATE TABLE IF NOT EXISTS account_events (
                    organization_id BLOB NOT NULL,
                    seq INTEGER NOT NULL,
                    at_ms INTEGER NOT NULL,
                    account_id BLOB NOT NULL,
                    payload TEXT NOT NULL,
                    PRIMARY KEY (organization_id, seq)) WITHOUT ROWID",
                "CREATE INDEX IF NOT EXISTS idx_account_events_at ON account_events (at_ms)",
            ],
        };
        for sql in statements {
            m.get_connection().execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let c = m.get_connection();
        c.execute_unprepared("DROP TABLE IF EXISTS account_events").await?;
        c.execute_unprepared("DROP TABLE IF EXISTS event_sequences").await?;
        Ok(())
    }
}
