//! The account status machine:
//! PENDING -> ACTIVE <-> INACTIVE; ACTIVE/INACTIVE -> BLOCKED/SUSPENDED ->
//! ACTIVE; any -> DELETED, which is terminal. Setting the current status
//! again is allowed (it records a new reason).
//!
//! Integrators migrating from systems that allow any change (seeds 003 and
//! 004) can choose [`Transitions::Free`]: any status to any other, DELETED
//! still terminal.

use crate::domain::AccountStatus::{self, *};
use crate::error::{AppError, AppResult};

/// Which status changes are allowed (`STATUS_TRANSITIONS`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Transitions {
    /// The status machine above.
    #[default]
    Machine,
    /// Any change, except out of DELETED.
    Free,
}

/// Whether `from -> to` is allowed by the status machine.
pub fn allowed(from: AccountStatus, to: AccountStatus) -> bool {
    match (from, to) {
        (Deleted, _) => false,
        (_, Deleted) => true,
        (a, b) if a == b => true,
        (Pending, Active) => true,
        (Active, Inactive) | (Inactive, Active) => true,
        (Active | Inactive, Blocked | Suspended) => true,
        (Blocked | Suspended, Active) => true,
        _ => false,
    }
}

/// NOT_ALLOWED naming both states when `from -> to` is refused by `rules`.
pub fn check(rules: Transitions, from: AccountStatus, to: AccountStatus) -> AppResult<()> {
    let ok = match rules {
        Transitions::Machine => allowed(from, to),
        Transitions::Free => from != Deleted,
    };
    if ok {
        Ok(())
    } else {
        Err(AppError::not_allowed(format!("an account cannot go from {} to {}", from.as_str(), to.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine() {
        assert!(allowed(Pending, Active));
        assert!(!allowed(Pending, Inactive));
        assert!(allowed(Active, Inactive) && allowed(Inactive, Active));
        assert!(allowed(Inactive, Suspended) && allowed(Suspended, Active));
        assert!(!allowed(Blocked, Inactive));
        assert!(allowed(Blocked, Deleted));
        assert!(!allowed(Deleted, Active) && !allowed(Deleted, Deleted));
        let err = check(Transitions::Machine, Blocked, Inactive).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("BLOCKED") && err.contains("INACTIVE"));
    }

    #[test]
    fn free_allows_everything_but_leaving_deleted() {
        for from in [Pending, Active, Inactive, Blocked, Suspended] {
            for to in [Pending, Active, Inactive, Blocked, Suspended, Deleted] {
                assert!(check(Transitions::Free, from, to).is_ok(), "{from:?} -> {to:?}");
            }
        }
        assert!(check(Transitions::Free, Deleted, Active).is_err());
        assert!(check(Transitions::Machine, Blocked, Pending).is_err());
    }
}
