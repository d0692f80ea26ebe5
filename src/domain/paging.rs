//! Paging rules: page sizes, offsets and opaque keyset cursors.
//!
//! A cursor is the sort key of a row plus its id, so the next page starts
//! exactly after the last row seen even while rows are inserted (keyset
//! paging); `offset` is accepted as the simpler alternative.

use crate::domain::AccountOrderField;
use crate::error::{AppError, AppResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Page size when the client gives none.
pub const DEFAULT_PAGE: u64 = 50;
/// The largest page a client may ask for.
pub const MAX_PAGE: u64 = 500;

/// A sort key value as carried in a cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SortValue {
    /// A number (uid).
    Int(i64),
    /// A timestamp (created/updated).
    Time(DateTime<Utc>),
    /// A text (name).
    Text(String),
}

/// The field a list is sorted by, which a cursor must have been made for
/// (spelled in the cursor as `UID`, `NAME`, `CREATED_AT`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CursorField {
    /// An account's uid.
    Uid,
    /// An account's name.
    Name,
    /// When the row was created.
    CreatedAt,
    /// When the row last changed.
    UpdatedAt,
    /// When an event happened (audit trail, journal).
    At,
}

impl CursorField {
    /// Whether `value` is a key of this field.
    fn fits(self, value: &SortValue) -> bool {
        matches!(
            (self, value),
            (CursorField::Uid, SortValue::Int(_))
                | (CursorField::Name, SortValue::Text(_))
                | (CursorField::CreatedAt | CursorField::UpdatedAt | CursorField::At, SortValue::Time(_))
        )
    }
}

impl From<AccountOrderField> for CursorField {
    fn from(f: AccountOrderField) -> Self {
        match f {
            AccountOrderField::Uid => CursorField::Uid,
            AccountOrderField::Name => CursorField::Name,
            AccountOrderField::CreatedAt => CursorField::CreatedAt,
            AccountOrderField::UpdatedAt => CursorField::UpdatedAt,
        }
    }
}

/// Where a page starts or ends: the sort key and id of a row. Pages carry
/// one per row and encode it only when a client selects it (most pages
/// select only their nodes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// The sort field the cursor was made for.
    #[serde(rename = "f")]
    pub field: CursorField,
    /// The row's sort key.
    #[serde(rename = "v")]
    pub value: SortValue,
    /// The row's id, the tie-breaker.
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl Cursor {
    /// The opaque text given to clients.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Reads a client's cursor; `arg` names the argument in the error.
    pub fn decode(text: &str, arg: &str, field: CursorField) -> AppResult<Cursor> {
        Cursor::parse(text)
            .filter(|c| c.field == field)
            .ok_or_else(|| AppError::invalid(arg, "not a cursor returned by this API for this ordering"))
    }

    /// A cursor this API wrote, for whichever ordering.
    pub fn parse(text: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let cursor: Cursor = serde_json::from_slice(&bytes).ok()?;
        cursor.field.fits(&cursor.value).then_some(cursor)
    }
}

/// Paging arguments as the client gave them.
#[derive(Clone, Debug, Default)]
pub struct PageArgs {
    /// Rows after `after`, at most this many.
    pub first: Option<i32>,
    /// Cursor to start after.
    pub after: Option<String>,
    /// Rows before `before`, at most this many (from the end).
    pub last: Option<i32>,
    /// Cursor to end before.
    pub before: Option<String>,
    /// Rows to skip, instead of a cursor.
    pub offset: Option<i32>,
}

/// Validated paging.
#[derive(Clone, Debug)]
pub struct Page {
    /// How many rows to return.
    pub limit: u64,
    /// True when paging from the end (`last`/`before`).
    pub backward: bool,
    /// Start after this row.
    pub after: Option<Cursor>,
    /// End before this row.
    pub before: Option<Cursor>,
    /// Rows to skip first.
    pub offset: u64,
}

fn size(value: Option<i32>, arg: &str) -> AppResult<Option<u64>> {
    match value {
        None => Ok(None),
        Some(n) if n < 0 => Err(AppError::invalid(arg, format!("`{arg}` must not be negative"))),
        Some(n) if n as u64 > MAX_PAGE => Err(AppError::invalid(arg, format!("`{arg}` must be at most {MAX_PAGE}"))),
        Some(n) => Ok(Some(n as u64)),
    }
}

impl PageArgs {
    /// Checks the arguments against the rules; `field` is the sort field
    /// the cursors must have been made for.
    pub fn validate(&self, field: CursorField) -> AppResult<Page> {
        let first = size(self.first, "first")?;
        let last = size(self.last, "last")?;
        if first.is_some() && last.is_some() {
            return Err(AppError::invalid("last", "give either `first` or `last`, not both"));
        }
        let offset = match self.offset {
            None => 0,
            Some(n) if n < 0 => return Err(AppError::invalid("offset", "`offset` must not be negative")),
            Some(n) => n as u64,
        };
        if offset > 0 && (self.after.is_some() || self.before.is_some() || last.is_some()) {
            return Err(AppError::invalid("offset", "`offset` cannot be combined with cursors or `last`"));
        }
        let after = self.after.as_deref().map(|c| Cursor::decode(c, "after", field)).transpose()?;
        let before = self.before.as_deref().map(|c| Cursor::decode(c, "before", field)).transpose()?;
        let backward = last.is_some() || (before.is_some() && first.is_none());
        Ok(Page { limit: first.or(last).unwrap_or(DEFAULT_PAGE), backward, after, before, offset })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_limits() {
        let args = PageArgs { first: Some(501), ..Default::default() };
        assert!(
            matches!(args.validate(CursorField::Uid), Err(AppError::Validation { details, .. }) if details[0].field == "first")
        );
        let args = PageArgs { offset: Some(-1), ..Default::default() };
        assert!(args.validate(CursorField::Uid).is_err());
        let page = PageArgs::default().validate(CursorField::Uid).ok();
        assert_eq!(page.map(|p| p.limit), Some(DEFAULT_PAGE));
    }

    #[test]
    fn cursor_round_trip_and_mismatch() {
        let c = Cursor { field: CursorField::Uid, value: SortValue::Int(7), id: Uuid::nil() };
        assert_eq!(Cursor::decode(&c.encode(), "after", CursorField::Uid).ok(), Some(c.clone()));
        assert!(Cursor::decode(&c.encode(), "after", CursorField::Name).is_err());
        assert!(Cursor::decode("garbage!", "after", CursorField::Uid).is_err());
    }
}
