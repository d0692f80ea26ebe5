//! The operations behind the schema. Every function takes the caller's
//! organization and never reads another's rows; tests call these directly.

pub mod account_filter;
pub mod accounts;
pub mod catalog;
pub mod clients;
pub mod organizations;
pub mod paging;
pub mod secrets;
pub mod seed;

/// The current time at the precision both databases keep (microseconds),
/// so a timestamp read back equals the one written and cursors stay exact.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
