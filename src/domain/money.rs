//! Exact amounts: the `Decimal` scalar (strings on the wire, both ways) and
//! the one parser every decimal that enters the gateway goes through (the
//! GraphQL scalar, import files).
//!
//! async-graphql's built-in decimal scalar also accepts JSON numbers, which
//! clients build from binary floats (0.1 + 0.2 ...), and `Decimal::from_str`
//! rounds past 28 significant digits and reads `1_000` as 1000. A money API
//! takes neither: an amount is a plain decimal string that `Decimal` holds
//! digit for digit, or it is refused.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use rust_decimal::Decimal;

/// An exact decimal amount, written as a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dec(pub Decimal);

/// Why a string is not an amount; the message a client sees.
pub const NOT_PLAIN: &str =
    "write amounts as plain decimal strings such as \"-1234.50\" (no exponent, `_`, `+` or spaces)";
/// The message for a value `Decimal` cannot hold exactly.
pub const NOT_EXACT: &str = "cannot be held exactly: at most 28 decimals and 28 to 29 significant digits";

/// Parses a plain decimal string (`-?digits(.digits)?`) exactly: refused,
/// never rounded, when `Decimal` cannot hold the value digit for digit.
/// Trailing zeros of the fraction do not change the value and are dropped;
/// the scale a currency allows is checked by `validate::amount`.
pub fn parse_exact(text: &str) -> Result<Decimal, &'static str> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || (unsigned.contains('.') && frac.is_empty()) {
        return Err(NOT_PLAIN);
    }
    let frac = frac.trim_end_matches('0');
    let int = int.trim_start_matches('0');
    if frac.len() > 28 {
        return Err(NOT_EXACT);
    }
    // Every digit kept, as one integer: at most 29 digits and below 2^96.
    let all = format!("{int}{frac}");
    let all = all.trim_start_matches('0');
    if all.len() > 29 {
        return Err(NOT_EXACT);
    }
    let mantissa: i128 = if all.is_empty() { 0 } else { all.parse().map_err(|_| NOT_EXACT)? };
    if mantissa >= 1i128 << 96 {
        return Err(NOT_EXACT);
    }
    let mut d = Decimal::from_i128_with_scale(mantissa, frac.len() as u32);
    d.set_sign_negative(negative && mantissa != 0);
    Ok(d)
}

#[Scalar(name = "Decimal")]
impl ScalarType for Dec {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            // The engine names the argument, not the field inside an input
            // object: the message quotes the value so a client can find it.
            Value::String(s) => parse_exact(s).map(Dec).map_err(|m| InputValueError::custom(format!("{s:?}: {m}"))),
            _ => Err(InputValueError::custom("amounts are strings such as \"1234.50\", never numbers")),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl From<Decimal> for Dec {
    fn from(d: Decimal) -> Self {
        Dec(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `Decimal::MAX` (2^96 - 1) as digits: the oracle compares digit
    /// strings, not the parser's own arithmetic.
    const MAX_DIGITS: &str = "79228162514264337593543950335";

    /// Whether `int.frac` is exactly representable, by string comparison.
    fn representable(int: &str, frac: &str) -> bool {
        let frac = frac.trim_end_matches('0');
        let all = format!("{}{frac}", int.trim_start_matches('0'));
        let all = all.trim_start_matches('0');
        frac.len() <= 28 && (all.len() < 29 || (all.len() == 29 && all <= MAX_DIGITS))
    }

    /// The value written canonically: no leading zeros, no trailing
    /// fraction zeros, no negative zero.
    fn canonical(neg: bool, int: &str, frac: &str) -> String {
        let int = match int.trim_start_matches('0') {
            "" => "0",
            i => i,
        };
        let frac = frac.trim_end_matches('0');
        let body = if frac.is_empty() { int.to_owned() } else { format!("{int}.{frac}") };
        if neg && body != "0" {
            format!("-{body}")
        } else {
            body
        }
    }

    #[test]
    fn the_issue_examples() {
        assert_eq!(parse_exact("0.00999999999999999999999999999"), Err(NOT_EXACT), "29 decimals");
        for bad in ["1_000", "1e3", "1E3", "+1", " 1", "1 ", "", "-", ".5", "5.", "1.2.3", "--1", "0x10", "١"] {
            assert_eq!(parse_exact(bad), Err(NOT_PLAIN), "{bad:?}");
        }
        assert_eq!(parse_exact("99999999999999999999999999999"), Err(NOT_EXACT));
        assert_eq!(parse_exact("79228162514264337593543950335").map(|d| d == Decimal::MAX), Ok(true));
        assert_eq!(parse_exact("79228162514264337593543950336"), Err(NOT_EXACT));
        assert_eq!(parse_exact("-0.000").map(|d| d.to_string()), Ok("0".to_owned()));
        assert_eq!(parse_exact("1.2300").map(|d| d.to_string()), Ok("1.23".to_owned()));
        assert_eq!(
            parse_exact("0.0000000000000000000000000001").map(|d| d.to_string()),
            Ok("0.0000000000000000000000000001".into())
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Plain strings: accepted exactly when representable, and then
        /// held digit for digit.
        #[test]
        fn plain_strings(neg in any::<bool>(), int in "[0-9]{1,32}", frac in proptest::option::of("[0-9]{0,32}")) {
            let text = match &frac {
                Some(f) if !f.is_empty() => format!("{}{int}.{f}", if neg { "-" } else { "" }),
                _ => format!("{}{int}", if neg { "-" } else { "" }),
            };
            let f = frac.unwrap_or_default();
            match parse_exact(&text) {
                Ok(d) => {
                    prop_assert!(representable(&int, &f), "{text} accepted");
                    prop_assert_eq!(d.to_string(), canonical(neg, &int, &f));
                }
                Err(e) => {
                    prop_assert!(!representable(&int, &f), "{text} refused: {e}");
                    prop_assert_eq!(e, NOT_EXACT);
                }
            }
        }

        /// Anything with a character outside `-0-9.` in the wrong place is
        /// refused, never read as a number.
        #[test]
        fn decorated_strings(core in "[0-9]{1,6}(\\.[0-9]{1,4})?", deco in "[_eE+ ,]", at in 0usize..8) {
            let at = at.min(core.len());
            let text = format!("{}{deco}{}", &core[..at], &core[at..]);
            prop_assert_eq!(parse_exact(&text), Err(NOT_PLAIN));
        }
    }
}
