//! SeaORM entities of the accounts gateway.
//!
//! One module per table. Every table carries `organization_id`: the tenant
//! boundary is part of the data, not only of the queries. Status and kind
//! columns are plain strings here; the gateway's domain layer owns their
//! meaning, so a new enum value never needs a database type migration.

pub mod account;
pub mod account_event;
pub mod account_type;
pub mod amount;
pub mod api_key;
pub mod asset;
pub mod audit_event;
pub mod balance_entry;
pub mod client;
pub mod currency;
pub mod currency_network;
pub mod idempotency_record;
pub mod network;
pub mod organization;
pub mod project;
pub mod quote_history;
pub mod server_setting;
pub mod smart_card;
pub mod transfer;
pub mod wallet;

pub use amount::Amount;
