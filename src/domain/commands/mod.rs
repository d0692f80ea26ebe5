//! What each mutation asks for, as plain domain types. The GraphQL layer
//! converts its inputs into these; so do the importer and the seeder. A
//! command is checked once (`check`), field by field, before a service sees
//! it: services take a [`Checked`] command and only add the rules that need
//! the database. Error fields are named relative to the command
//! (`alias`, `assets.0.currency`); the caller that knows where the command
//! came from places them (see [`crate::error::AppError::within`]).

mod account;
mod asset;
mod catalog;
mod client;
mod transfer;

pub use account::{AccountChanges, BankAccount, NewAccount, StatusReason, SYSTEM_TYPE};
pub use asset::{BalanceAdjustment, NewAsset, NewCard, NewWallet};
pub use catalog::{NewAccountType, NewCurrency, NewNetwork};
pub use client::{ClientChanges, NewClient};
pub use transfer::NewTransfer;

use crate::error::AppResult;

/// A change to an optional field: leave it, clear it, or set it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not mentioned: unchanged.
    #[default]
    Keep,
    /// Explicitly cleared.
    Clear,
    /// Set to this value.
    Set(T),
}

impl<T> Patch<T> {
    /// Checks a value being set; a check that yields `None` (a blank
    /// value) clears the field.
    fn check<U>(self, f: impl FnOnce(T) -> AppResult<Option<U>>) -> AppResult<Patch<U>> {
        Ok(match self {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(v) => f(v)?.map_or(Patch::Clear, Patch::Set),
        })
    }

    /// What the field becomes: `None` to keep it, `Some(None)` to clear it.
    pub fn change(&self) -> Option<Option<&T>> {
        match self {
            Patch::Keep => None,
            Patch::Clear => Some(None),
            Patch::Set(v) => Some(Some(v)),
        }
    }
}

/// A command that passed its field checks; only `check` makes one, so a
/// service taking `&Checked<C>` never sees unchecked input.
#[derive(Clone, Debug)]
pub struct Checked<C>(C);

impl<C> std::ops::Deref for Checked<C> {
    type Target = C;
    fn deref(&self) -> &C {
        &self.0
    }
}

/// The errors of the `i`th item of a list field, named `field.i.…`.
fn item<T>(field: &str, i: usize, r: AppResult<T>) -> AppResult<T> {
    r.map_err(|e| e.within(&format!("{field}.{i}"), &[]))
}
