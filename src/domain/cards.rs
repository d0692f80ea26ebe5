//! Card rules: the number is checked (Luhn) and then reduced to its last
//! four digits and a keyed fingerprint; expiry is MM/YY.

use crate::domain::CardExpirationStatus;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Days before expiry at which a card counts as expiring soon.
pub const EXPIRING_SOON_DAYS: i64 = 30;

/// The Luhn sum of a digit string, or `None` when it holds a non-digit.
fn luhn_sum(digits: &str) -> Option<u32> {
    digits.bytes().rev().enumerate().try_fold(0u32, |acc, (i, b)| {
        if !b.is_ascii_digit() {
            return None;
        }
        let d = u32::from(b - b'0');
        let v = if i % 2 == 1 {
            if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        } else {
            d
        };
        Some(acc + v)
    })
}

/// True when `digits` is all digits and passes the Luhn check.
pub fn luhn_ok(digits: &str) -> bool {
    !digits.is_empty() && luhn_sum(digits).is_some_and(|s| s % 10 == 0)
}

/// True when `digits` is a 12 to 19 digit card number passing the Luhn check.
pub fn luhn_valid(digits: &str) -> bool {
    (12..=19).contains(&digits.len()) && luhn_ok(digits)
}

/// The Luhn check digit that completes `payload` (digits only).
pub fn luhn_check_digit(payload: &str) -> u32 {
    (0..10).find(|d| luhn_ok(&format!("{payload}{d}"))).unwrap_or(0)
}

/// HMAC-SHA256 of the number under the server key, hex encoded.
pub fn fingerprint(key: &[u8], number: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        // HMAC accepts keys of any length; this arm cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(number.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `**** **** **** 1234`.
pub fn masked(last4: &str) -> String {
    format!("**** **** **** {last4}")
}

/// The first instant after the card's last valid day, if `mm_yy` is valid.
pub fn expires_at(mm_yy: &str) -> Option<DateTime<Utc>> {
    let (mm, yy) = mm_yy.split_once('/')?;
    if mm.len() != 2 || yy.len() != 2 {
        return None;
    }
    let month: u32 = mm.parse().ok()?;
    let year: i32 = 2000 + yy.parse::<i32>().ok()?;
    if !(1..=12).contains(&month) {
        return None;
    }
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    Some(NaiveDate::from_ymd_opt(ny, nm, 1)?.and_hms_opt(0, 0, 0)?.and_utc())
}

/// The card's standing at `now`: EXPIRED once its month has ended,
/// EXPIRING_SOON in its last month or within [`EXPIRING_SOON_DAYS`] of the
/// end (so a card is always "expiring soon" for the whole of its last
/// month, even on the first day of a 31-day month), else ACTIVE.
pub fn expiration_status(mm_yy: &str, now: DateTime<Utc>) -> CardExpirationStatus {
    match expires_at(mm_yy) {
        None => CardExpirationStatus::Expired,
        Some(end) if end <= now => CardExpirationStatus::Expired,
        Some(end) if end - now <= Duration::days(EXPIRING_SOON_DAYS) || mm_yy_after(now, 0) == mm_yy => {
            CardExpirationStatus::ExpiringSoon
        }
        Some(_) => CardExpirationStatus::Active,
    }
}

/// MM/YY of the month `months` after `now`'s month.
pub fn mm_yy_after(now: DateTime<Utc>, months: i32) -> String {
    let total = now.year() * 12 + now.month0() as i32 + months;
    format!("{:02}/{:02}", total.rem_euclid(12) + 1, (total / 12) % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_valid("4242424242424242"));
        assert!(!luhn_valid("4242424242424241"));
        assert!(!luhn_valid("42424242abcd4242"));
        assert_eq!(luhn_check_digit("424242424242424"), 2);
    }

    #[test]
    fn expiry() {
        let now = NaiveDate::from_ymd_opt(2026, 11, 22).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
        let now = now.unwrap_or_default();
        assert_eq!(expiration_status("10/26", now), CardExpirationStatus::Expired);
        assert_eq!(expiration_status("11/26", now), CardExpirationStatus::ExpiringSoon);
        assert_eq!(expiration_status("12/27", now), CardExpirationStatus::Active);
        assert_eq!(mm_yy_after(now, 2), "01/27");
        assert_eq!(mm_yy_after(now, -1), "10/26");
    }

    #[test]
    fn the_last_month_is_expiring_soon_on_every_day_of_it() {
        for (y, m) in [(2026, 12), (2027, 1), (2027, 2), (2028, 2), (2027, 4), (2027, 7)] {
            let first = NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
            let first = first.unwrap_or_default();
            let card = mm_yy_after(first, 0);
            let mut day = first;
            while day.month() == m {
                for hour in [0, 12, 23] {
                    let at = day + Duration::hours(hour);
                    assert_eq!(expiration_status(&card, at), CardExpirationStatus::ExpiringSoon, "{card} at {at}");
                }
                day += Duration::days(1);
            }
            assert_eq!(expiration_status(&card, day), CardExpirationStatus::Expired);
            assert_eq!(expiration_status(&mm_yy_after(first, 2), first), CardExpirationStatus::Active);
        }
    }
}
