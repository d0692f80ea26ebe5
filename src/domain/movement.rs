//! The movement rules: whether money may leave or enter an account's
//! asset. One table, used by every operation that moves money
//! (`adjustBalance`, `transfer`); opening balances (an asset's
//! `initialBalance`, an import) are not movements.
//!
//! | account | debit (available or onHold goes down) | credit |
//! |---|---|---|
//! | ACTIVE | yes, unless `allowSending: false` | yes, unless `allowReceiving: false` |
//! | PENDING, INACTIVE, BLOCKED, SUSPENDED, DELETED | no | no |
//! | asset not ACTIVE | no | no |
//!
//! `future` (incoming, unsettled) follows the credit column.

use crate::domain::{AccountStatus, AssetStatus};
use crate::error::{AppError, AppResult};
use rust_decimal::Decimal;

/// Which way money moves on one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Available or on hold goes down.
    Debit,
    /// Available or on hold goes up, or future changes.
    Credit,
}

/// What the rules read of an account and its asset.
#[derive(Clone, Copy, Debug)]
pub struct Holder {
    /// The account's status.
    pub status: AccountStatus,
    /// `allowSending`.
    pub allow_sending: bool,
    /// `allowReceiving`.
    pub allow_receiving: bool,
    /// The asset's status.
    pub asset_status: AssetStatus,
}

/// The directions deltas of (available, on hold, future) move in: a hold
/// placed from available (`-x, +x, 0`) is both.
pub fn directions(deltas: [Decimal; 3]) -> Vec<Direction> {
    let [available, on_hold, future] = deltas;
    let debit =
        available.is_sign_negative() && !available.is_zero() || on_hold.is_sign_negative() && !on_hold.is_zero();
    let credit = available.is_sign_positive() && !available.is_zero()
        || on_hold.is_sign_positive() && !on_hold.is_zero()
        || !future.is_zero();
    [(debit, Direction::Debit), (credit, Direction::Credit)].into_iter().filter(|(on, _)| *on).map(|(_, d)| d).collect()
}

/// NOT_ALLOWED, naming the status or the flag, when `holder` may not move
/// money in `direction`; `who` names the side in the message ("the
/// account", "the sending account").
pub fn check(holder: &Holder, direction: Direction, who: &str) -> AppResult<()> {
    let verb = match direction {
        Direction::Debit => "send",
        Direction::Credit => "receive",
    };
    if holder.status != AccountStatus::Active {
        return Err(AppError::not_allowed(format!(
            "{who} is {}: only an ACTIVE account can {verb} money",
            holder.status.as_str()
        )));
    }
    if holder.asset_status != AssetStatus::Active {
        return Err(AppError::not_allowed(format!(
            "{who}'s asset is {}: activate it before moving its balance",
            holder.asset_status.as_str()
        )));
    }
    match direction {
        Direction::Debit if !holder.allow_sending => {
            Err(AppError::not_allowed(format!("{who} has allowSending: false: money cannot leave it")))
        }
        Direction::Credit if !holder.allow_receiving => {
            Err(AppError::not_allowed(format!("{who} has allowReceiving: false: money cannot enter it")))
        }
        _ => Ok(()),
    }
}

/// Checks every direction `deltas` move `holder`'s asset in.
pub fn check_deltas(holder: &Holder, deltas: [Decimal; 3], who: &str) -> AppResult<()> {
    directions(deltas).into_iter().try_for_each(|d| check(holder, d, who))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountStatus::*;
    use Direction::*;

    fn holder(status: AccountStatus, sending: bool, receiving: bool, asset: AssetStatus) -> Holder {
        Holder { status, allow_sending: sending, allow_receiving: receiving, asset_status: asset }
    }

    fn refusal(r: AppResult<()>) -> String {
        match r {
            Err(AppError::NotAllowed(m)) => m,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn every_row_and_column_of_the_table() {
        for status in [Pending, Active, Inactive, Blocked, Suspended, Deleted] {
            for asset in [AssetStatus::Active, AssetStatus::Inactive] {
                for (sending, receiving) in [(true, true), (false, true), (true, false), (false, false)] {
                    let h = holder(status, sending, receiving, asset);
                    let open = status == Active && asset == AssetStatus::Active;
                    assert_eq!(check(&h, Debit, "the account").is_ok(), open && sending, "{h:?} debit");
                    assert_eq!(check(&h, Credit, "the account").is_ok(), open && receiving, "{h:?} credit");
                    if status != Active {
                        assert!(refusal(check(&h, Debit, "the account")).contains(status.as_str()));
                    } else if asset != AssetStatus::Active {
                        assert!(refusal(check(&h, Credit, "the account")).contains("INACTIVE"));
                    } else if !sending {
                        assert!(refusal(check(&h, Debit, "the account")).contains("allowSending"));
                    }
                }
            }
        }
    }

    #[test]
    fn deltas_map_to_directions() {
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        assert_eq!(directions([d("-1"), d("0"), d("0")]), vec![Debit]);
        assert_eq!(directions([d("1"), d("0"), d("0")]), vec![Credit]);
        assert_eq!(directions([d("-1"), d("1"), d("0")]), vec![Debit, Credit]);
        assert_eq!(directions([d("0"), d("0"), d("-1")]), vec![Credit], "future follows the credit column");
        assert_eq!(directions([d("0"), d("-1"), d("0")]), vec![Debit]);
        let no_receiving = holder(Active, true, false, AssetStatus::Active);
        assert!(check_deltas(&no_receiving, [d("-1"), d("0"), d("0")], "x").is_ok());
        assert!(check_deltas(&no_receiving, [d("0"), d("0"), d("5")], "x").is_err());
    }
}
