//! SeaORM migrations of the accounts gateway.
//!
//! The same migrations run on SQLite (the embedded default) and PostgreSQL.
//! Where the two differ (money columns), the migration asks the backend.

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261122_000001_create_tables;
mod m20261201_000001_event_outbox;
mod m20261202_000001_card_deactivation;
mod m20261202_000002_outbox_retention;
mod m20261202_000003_balance_journal;
mod m20261202_000004_quote_history;
mod m20261206_000001_api_key_changes;
mod m20261207_000001_transfers;
mod m20261207_000002_address_families;
mod m20261207_000003_history_start;
mod m20261208_000001_account_events;
mod m20261208_000002_wallet_account;

/// The channel PostgreSQL notifies when an API key is updated or deleted.
pub use m20261206_000001_api_key_changes::CHANNEL as API_KEYS_CHANGED;

/// Every migration, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_tables::Migration),
            Box::new(m20261201_000001_event_outbox::Migration),
            Box::new(m20261202_000001_card_deactivation::Migration),
            Box::new(m20261202_000002_outbox_retention::Migration),
            Box::new(m20261202_000003_balance_journal::Migration),
            Box::new(m20261202_000004_quote_history::Migration),
            Box::new(m20261206_000001_api_key_changes::Migration),
            Box::new(m20261207_000001_transfers::Migration),
            Box::new(m20261207_000002_address_families::Migration),
            Box::new(m20261207_000003_history_start::Migration),
            Box::new(m20261208_000001_account_events::Migration),
            Box::new(m20261208_000002_wallet_account::Migration),
        ]
    }
}
