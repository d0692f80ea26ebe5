//! The operations behind the schema. Every function takes the caller's
//! organization and never reads another's rows; tests call these directly.

pub mod account_create;
pub mod account_filter;
pub mod account_write;
pub mod accounts;
pub mod aggregate;
pub mod api_keys;
pub mod asset_write;
pub mod audit;
pub mod bulk_import;
pub mod bulk_insert;
pub mod by_index;
pub mod catalog;
pub mod catalog_write;
pub mod client_write;
pub mod clients;
pub mod event_feed;
pub mod event_log;
pub mod export;
pub mod idempotency;
pub mod import;
pub mod journal;
pub mod journal_repair;
pub mod organizations;
pub mod outbox;
pub mod paging;
pub mod quote_history;
pub mod rows;
pub mod secrets;
pub mod seed;
pub mod store;
pub mod subtree;
pub mod transfer_write;
pub mod transfers;
pub mod wallet_card_write;

/// The current time at the precision both databases keep (microseconds),
/// so a timestamp read back equals the one written and cursors stay exact.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
