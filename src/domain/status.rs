//! The account status machine:
//! PENDING -> ACTIVE <-> INACTIVE; ACTIVE/INACTIVE -> BLOCKED/SUSPENDED ->
//! ACTIVE; any -> DELETED, which is terminal. Setting the current status
//! again is allowed (it records a new reason).

use crate::domain::AccountStatus::{self, *};
use crate::error::{AppError, AppResult};

/// Whether `from -> to` is allowed.
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

/// NOT_ALLOWED naming both states when `from -> to` is refused.
pub fn check(from: AccountStatus, to: AccountStatus) -> AppResult<()> {
    if allowed(from, to) {
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
        let err = check(Blocked, Inactive).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("BLOCKED") && err.contains("INACTIVE"));
    }
}
