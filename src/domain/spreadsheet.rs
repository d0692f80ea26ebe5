//! Spreadsheet formula injection (OWASP "CSV injection"): a CSV cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a carriage return is run as a
//! formula by spreadsheet programs, so an account or owner name such as
//! `=HYPERLINK(...)` would run on an operator's machine. The export writes
//! such a cell with a leading `'` (shown, not run) and the import takes it
//! back off, so export then import reproduces the text. Plain amounts
//! (`-12.50`) are numbers, not formulas, and stay as they are.

use crate::domain::money::parse_exact;
use std::borrow::Cow;

fn starts_a_formula(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `text` as a CSV cell a spreadsheet shows instead of running.
pub fn neutralize(text: &str) -> Cow<'_, str> {
    if starts_a_formula(text) && parse_exact(text).is_err() {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// A cell read back: the `'` that [`neutralize`] added, taken off.
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_a_formula(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_and_read_back_as_written() {
        for text in ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "=", "-"] {
            let cell = neutralize(text);
            assert_eq!(cell, format!("'{text}"), "{text:?}");
            assert_eq!(restore(&cell), text);
        }
        for text in ["Ana", "-12.50", "0.5", "", "'quoted", "a=b"] {
            assert_eq!(neutralize(text), text, "{text:?} is no formula");
            assert_eq!(restore(&neutralize(text)), text);
        }
    }
}
