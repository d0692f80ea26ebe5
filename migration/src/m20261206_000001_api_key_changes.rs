//! PostgreSQL tells every replica when an API key changes.
//!
//! Replicas remember the keys they have checked (src/auth/key_cache.rs)
//! and forget them when a key is updated or deleted. The trigger, not the
//! code that revokes, sends the notification, so a key revoked by the CLI,
//! by another replica or by hand in psql is forgotten all the same. The
//! notification is sent when the revoking transaction commits. SQLite has
//! no notifications: there the gateway reads the key on every request.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// Adds the `api_keys_changed` trigger (PostgreSQL only).
pub struct Migration;

/// The channel the trigger notifies; its payload is the key's id.
pub const CHANNEL: &str = "api_keys_changed";

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000001_api_key_changes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let c = m.get_connection();
        c.execute_unprepared(&format!(
            "CREATE OR REPLACE FUNCTION notify_api_key_changed() RETURNS trigger AS $$
             BEGIN PERFORM pg_notify('{CHANNEL}', OLD.id::text); RETURN NULL; END
             $$ LANGUAGE plpgsql"
        ))
        .await?;
        c.execute_unprepared(
            "CREATE TRIGGER api_keys_changed AFTER UPDATE OR DELETE ON api_keys
             FOR EACH ROW EXECUTE FUNCTION notify_api_key_changed()",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        let c = m.get_connection();
        c.execute_unprepared("DROP TRIGGER IF EXISTS api_keys_changed ON api_keys").await?;
        c.execute_unprepared("DROP FUNCTION IF EXISTS notify_api_key_changed()").await?;
        Ok(())
    }
}
