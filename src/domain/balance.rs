//! The balance rules of an adjustment: exact arithmetic and the limits a
//! balance must keep. No I/O; `asset_write::adjust` applies the result.

use crate::domain::valuation::exact_add;
use crate::error::{AppError, AppResult};
use rust_decimal::Decimal;

/// An asset's balance fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Balance {
    /// Spendable now.
    pub available: Decimal,
    /// Held.
    pub on_hold: Decimal,
    /// Incoming, not settled.
    pub future: Decimal,
}

impl Balance {
    /// The balance after `deltas` (available, on hold, future), given the
    /// asset's `credit_limit`: exact or refused (a result rust_decimal could
    /// only keep by dropping digits is as wrong as an overflow), and
    /// `available + creditLimit`, `onHold` and `future` never below zero.
    /// Errors name the field of the adjustment (`available`, ...).
    pub fn adjusted(self, deltas: [Decimal; 3], credit_limit: Decimal) -> AppResult<Balance> {
        let fits = |field: &'static str, base: Decimal, delta: Decimal| {
            exact_add(base, delta).ok_or_else(|| {
                AppError::invalid(field, "the resulting balance does not fit in 28 significant digits exactly")
            })
        };
        let available = fits("available", self.available, deltas[0])?;
        let on_hold = fits("onHold", self.on_hold, deltas[1])?;
        let future = fits("future", self.future, deltas[2])?;
        fits("onHold", available, on_hold)?;
        let spendable = fits("available", available, credit_limit)?;
        if spendable < Decimal::ZERO {
            return Err(AppError::invalid("available", "available + creditLimit would fall below zero"));
        }
        if on_hold < Decimal::ZERO {
            return Err(AppError::invalid("onHold", "onHold would fall below zero"));
        }
        if future < Decimal::ZERO {
            return Err(AppError::invalid("future", "future would fall below zero"));
        }
        Ok(Balance { available, on_hold, future })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    fn field(r: AppResult<Balance>) -> String {
        match r {
            Err(AppError::Validation { details, .. }) => details.first().map(|i| i.field.clone()).unwrap_or_default(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn adjustments_keep_the_limits_and_name_the_field() {
        let b = Balance { available: d("10"), on_hold: d("1"), future: d("0") };
        let after = b.adjusted([d("-15"), d("2"), d("3")], d("5")).unwrap_or(b);
        assert_eq!(after, Balance { available: d("-5"), on_hold: d("3"), future: d("3") }, "credit covers it");
        assert_eq!(field(b.adjusted([d("-16"), d("0"), d("0")], d("5"))), "available");
        assert_eq!(field(b.adjusted([d("0"), d("-2"), d("0")], d("0"))), "onHold");
        assert_eq!(field(b.adjusted([d("0"), d("0"), d("-1")], d("0"))), "future");
        let huge = Balance { available: Decimal::MAX, on_hold: d("0"), future: d("0") };
        assert_eq!(field(huge.adjusted([d("1"), d("0"), d("0")], d("0"))), "available");
        let fine = Balance { available: d("10"), on_hold: d("0"), future: d("0") };
        assert_eq!(field(fine.adjusted([d("0.0000000000000000000000000001"), d("0"), d("0")], d("0"))), "available");
    }
}
