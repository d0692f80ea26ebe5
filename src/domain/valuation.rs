//! Valuation arithmetic: exact decimals, rounded once, half-even, to cents.

use rust_decimal::{Decimal, RoundingStrategy};

/// `quantity x rate`, rounded half-even to cents; `None` on overflow.
pub fn usd_value(quantity: Decimal, rate: Decimal) -> Option<Decimal> {
    quantity.checked_mul(rate).map(cents)
}

/// `a + b` exactly: `None` when the sum overflows rust_decimal's 28
/// significant digits or could only be kept by dropping some of them.
pub fn exact_add(a: Decimal, b: Decimal) -> Option<Decimal> {
    let sum = a.checked_add(b)?;
    // A sum that had to be rounded no longer gives both terms back.
    (sum.checked_sub(b) == Some(a) && sum.checked_sub(a) == Some(b)).then_some(sum)
}

/// The exact sum of `values`, or `None` as [`exact_add`] says.
pub fn exact_sum(values: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    values.into_iter().try_fold(Decimal::ZERO, exact_add)
}

/// The error of a sum too large to give exactly, naming what was summed.
pub fn sum_overflow(what: &str) -> crate::error::AppError {
    crate::error::AppError::LimitExceeded(format!(
        "{what} does not fit in 28 significant digits; it cannot be given exactly"
    ))
}

/// The available and on-hold sums of `rows` per key (a currency), exact.
pub fn sums_by<K: Ord>(
    rows: impl IntoIterator<Item = (K, Decimal, Decimal)>,
) -> Result<std::collections::BTreeMap<K, (Decimal, Decimal)>, crate::error::AppError> {
    let mut sums = std::collections::BTreeMap::new();
    for (key, available, on_hold) in rows {
        let e: &mut (Decimal, Decimal) = sums.entry(key).or_default();
        e.0 = exact_add(e.0, available).ok_or_else(|| sum_overflow("the available sum"))?;
        e.1 = exact_add(e.1, on_hold).ok_or_else(|| sum_overflow("the on-hold sum"))?;
    }
    Ok(sums)
}

/// A balance's total (available + on hold) and, given a USD `rate`, its
/// USD value in cents.
pub fn total_and_usd(
    available: Decimal,
    on_hold: Decimal,
    rate: Option<Decimal>,
) -> Result<(Decimal, Option<Decimal>), crate::error::AppError> {
    let total = exact_add(available, on_hold).ok_or_else(|| sum_overflow("the total"))?;
    let usd = rate.map(|r| usd_value(total, r).ok_or_else(|| sum_overflow("the USD value"))).transpose()?;
    Ok((total, usd))
}

/// Rounds half-even to two places and shows both ("12.3" -> "12.30").
pub fn cents(v: Decimal) -> Decimal {
    let mut r = v.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    r.rescale(2);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn sums_are_exact_or_refused() {
        let max = Decimal::MAX;
        assert_eq!(exact_add(max, Decimal::ONE), None, "overflow");
        assert_eq!(exact_add(d("7922816251426433759354395033"), d("0.01")), None, "digits would be lost");
        assert_eq!(exact_add(d("0.1"), d("0.2")), Some(d("0.3")));
        assert_eq!(exact_sum([d("1.5"), d("2.25")]), Some(d("3.75")));
        assert_eq!(exact_sum([max, max]), None);
    }

    #[test]
    fn half_even_to_cents() {
        assert_eq!(usd_value(d("1"), d("0.125")), Some(d("0.12")));
        assert_eq!(usd_value(d("1"), d("0.135")), Some(d("0.14")));
        assert_eq!(usd_value(d("2.445678901234567890"), d("3456.78")), Some(d("8454.17")));
        assert_eq!(usd_value(d("125000.00"), d("1")).map(|v| v.to_string()), Some("125000.00".into()));
        assert_eq!(usd_value(d("99999999999999999999.99"), d("1.08")), Some(d("107999999999999999999.99")));
    }
}
