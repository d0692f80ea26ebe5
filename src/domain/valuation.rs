//! Valuation arithmetic: exact decimals, rounded once, half-even, to cents.

use rust_decimal::{Decimal, RoundingStrategy};

/// `quantity x rate`, rounded half-even to cents; `None` on overflow.
pub fn usd_value(quantity: Decimal, rate: Decimal) -> Option<Decimal> {
    quantity.checked_mul(rate).map(cents)
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
    fn half_even_to_cents() {
        assert_eq!(usd_value(d("1"), d("0.125")), Some(d("0.12")));
        assert_eq!(usd_value(d("1"), d("0.135")), Some(d("0.14")));
        assert_eq!(usd_value(d("2.445678901234567890"), d("3456.78")), Some(d("8454.17")));
        assert_eq!(usd_value(d("125000.00"), d("1")).map(|v| v.to_string()), Some("125000.00".into()));
        assert_eq!(usd_value(d("99999999999999999999.99"), d("1.08")), Some(d("107999999999999999999.99")));
    }
}
