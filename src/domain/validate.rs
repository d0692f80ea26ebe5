//! Input checks shared by every mutation. Each returns the cleaned value or
//! a VALIDATION_FAILED error naming the input field.

use crate::domain::filter::metadata_pairs;
use crate::error::{AppError, AppResult};
use rust_decimal::Decimal;

/// Trimmed text of 1 to `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim();
    let len = v.chars().count();
    if len == 0 || len > max {
        return Err(AppError::invalid(field, format!("must be 1 to {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(AppError::invalid(field, "must not contain control characters"));
    }
    Ok(v.to_owned())
}

/// Like [`text`] for an optional value; blank means absent.
pub fn optional(field: &str, value: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// A handle or reference: letters, digits, `.`, `_`, `-`, `:`, `@`; 1 to 100.
pub fn handle(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(v) = optional(field, value, 100)? else { return Ok(None) };
    if !v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '@')) {
        return Err(AppError::invalid(field, "may hold letters, digits and . _ - : @ only"));
    }
    Ok(Some(v))
}

/// An upper-case code (`PERSONAL`, `USDC`): letters, digits, `_`; 1 to `max`.
pub fn code(field: &str, value: &str, max: usize) -> AppResult<String> {
    let v = value.trim().to_uppercase();
    if v.is_empty() || v.len() > max || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(AppError::invalid(field, format!("must be 1 to {max} letters, digits or _")));
    }
    Ok(v)
}

/// A plausible email address, lower-cased.
pub fn email(field: &str, value: Option<&str>) -> AppResult<Option<String>> {
    let Some(v) = optional(field, value, 254)? else { return Ok(None) };
    let ok = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        }
        None => false,
    };
    if !ok || v.contains(char::is_whitespace) || v.matches('@').count() != 1 {
        return Err(AppError::invalid(field, "is not an email address"));
    }
    Ok(Some(v.to_lowercase()))
}

/// Metadata: an object of string keys to string, number or boolean values.
pub fn metadata(field: &str, value: Option<serde_json::Value>) -> AppResult<serde_json::Value> {
    let v = value.unwrap_or_else(|| serde_json::json!({}));
    let pairs = metadata_pairs(&v).map_err(|m| AppError::invalid(field, m))?;
    if pairs.len() > 50 {
        return Err(AppError::invalid(field, "at most 50 keys"));
    }
    Ok(v)
}

/// An amount in a currency with `decimals` places: no more decimals than
/// that, and (unless `signed`) not negative.
pub fn amount(field: &str, value: Decimal, decimals: i32, signed: bool) -> AppResult<Decimal> {
    let v = value.normalize();
    if v.scale() > decimals.max(0) as u32 {
        return Err(AppError::invalid(field, format!("has more than {decimals} decimals")));
    }
    if !signed && v.is_sign_negative() && !v.is_zero() {
        return Err(AppError::invalid(field, "must not be negative"));
    }
    // Keep headroom so sums of balances never overflow 28 digits.
    if v.abs() >= Decimal::from_i128_with_scale(10i128.pow(24), 0) {
        return Err(AppError::invalid(field, "is too large"));
    }
    Ok(v)
}

/// An IBAN: country, check digits, up to 30 alphanumerics, mod 97 = 1.
pub fn iban(field: &str, value: &str) -> AppResult<String> {
    let v: String = value.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let bad = || AppError::invalid(field, "is not a valid IBAN");
    if v.len() < 15 || v.len() > 34 || !v.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad());
    }
    let (head, tail) = v.split_at(4);
    if !head[..2].chars().all(|c| c.is_ascii_uppercase()) || !head[2..].chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let rem = tail.chars().chain(head.chars()).try_fold(0u32, |acc, c| {
        let d = c.to_digit(36)?;
        Some(if d >= 10 { (acc * 100 + d) % 97 } else { (acc * 10 + d) % 97 })
    });
    if rem == Some(1) {
        Ok(v)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn ibans() {
        assert!(iban("a", "DE89 3704 0044 0532 0130 00").is_ok());
        assert!(iban("a", "GB82WEST12345698765432").is_ok());
        assert!(iban("a", "BR1800360305000010009795493C1").is_ok());
        assert!(iban("a", "DE89370400440532013001").is_err());
        assert!(iban("a", "not an iban").is_err());
    }

    #[test]
    fn amounts() {
        let d = |s| Decimal::from_str(s).unwrap_or_default();
        assert!(amount("a", d("1.23"), 2, false).is_ok());
        assert!(amount("a", d("1.230"), 2, false).is_ok(), "trailing zeros are not extra decimals");
        assert!(amount("a", d("1.234"), 2, false).is_err());
        assert!(amount("a", d("-1"), 2, false).is_err());
        assert!(amount("a", d("-1"), 2, true).is_ok());
    }

    #[test]
    fn texts() {
        assert_eq!(text("n", "  Ana  ", 100).ok(), Some("Ana".to_owned()));
        assert!(text("n", " ", 100).is_err());
        assert!(text("n", &"x".repeat(101), 100).is_err());
        assert!(email("e", Some("a@b.co")).is_ok());
        assert!(email("e", Some("a@b")).is_err());
        assert!(handle("h", Some("with space")).is_err());
    }
}
