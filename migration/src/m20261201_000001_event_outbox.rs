//! The event outbox: committed domain events waiting to be relayed to the
//! other replicas (through Redis). A mutation writes its events here in its
//! own transaction, so a Redis outage can delay an event but never lose it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// Creates `event_outbox`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_event_outbox"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // The relay drains in id order; SQLite only auto-increments an
        // INTEGER PRIMARY KEY, PostgreSQL wants an identity column.
        let sql = match m.get_database_backend() {
            DatabaseBackend::Postgres => {
                "CREATE TABLE IF NOT EXISTS event_outbox (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    payload TEXT NOT NULL,
                    created_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            }
            _ => {
                "CREATE TABLE IF NOT EXISTS event_outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    payload TEXT NOT NULL,
                    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            }
        };
        m.get_connection().execute_unprepared(sql).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection().execute_unprepared("DROP TABLE IF EXISTS event_outbox").await?;
        Ok(())
    }
}
