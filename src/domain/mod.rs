//! Domain rules shared by every layer: the enums of the contract, paging
//! and filter validation, and validated input types.

pub mod balance;
pub mod enums;
pub mod filter;
pub mod inputs;
pub mod money;
pub mod paging;

pub use enums::*;
pub mod account_number;
pub mod address;
pub mod cards;
pub mod status;
pub mod validate;
pub mod valuation;
