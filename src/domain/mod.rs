//! Domain rules shared by every layer: the enums of the contract, paging
//! and filter validation, and the commands mutations carry.

pub mod balance;
pub mod commands;
pub mod enums;
pub mod filter;
pub mod money;
pub mod movement;
pub mod paging;
pub mod spreadsheet;

pub use enums::*;
pub mod account_number;
pub mod address;
pub mod cards;
pub mod status;
pub mod validate;
pub mod valuation;
