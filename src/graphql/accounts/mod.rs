//! Accounts in the schema: the `Account` object and the account queries.

mod mutation;
mod object;
mod prefetch;
mod query;

pub use mutation::AccountMutation;
pub use object::{Account, AccountOrder, BankAccount, StatusReason};
pub use prefetch::{prefetch, read_page, Prefetch};
pub use query::AccountQuery;
