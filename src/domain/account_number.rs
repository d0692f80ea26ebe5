//! Account numbers: the organization-wide uid, zero padded, plus a Luhn
//! check digit so that a mistyped number is caught before any lookup.

use crate::domain::cards::luhn_check_digit;

/// The account number of the account with `uid`.
pub fn account_number(uid: i64) -> String {
    let payload = format!("{uid:010}");
    let check = luhn_check_digit(&payload);
    format!("{payload}{check}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_carry_a_check_digit() {
        let n = super::account_number(42);
        assert_eq!(n.len(), 11);
        assert!(n.starts_with("0000000042"));
        assert!(crate::domain::cards::luhn_ok(&n));
    }
}
