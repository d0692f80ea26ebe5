//! Relay connections with `totalCount`, counted only when selected.

use crate::domain::paging::{Cursor, PageArgs};
use crate::error::AppError;
use crate::service::paging::PageResult;
use async_graphql::connection::{Connection, CursorType, Edge};
use async_graphql::{Context, SimpleObject};

/// Extra connection field: the number of matching rows.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// Rows matching the filter, over all pages.
    pub total_count: i64,
}

/// A connection of `N` with `totalCount`.
pub type Conn<N> = Connection<Cursor, N, TotalCount>;

/// Edges keep their rows' cursors unencoded: `cursor` and `pageInfo`
/// encode one when selected.
impl CursorType for Cursor {
    type Error = AppError;

    fn decode_cursor(s: &str) -> Result<Self, AppError> {
        Cursor::parse(s).ok_or_else(|| AppError::invalid("cursor", "not a cursor returned by this API"))
    }

    fn encode_cursor(&self) -> String {
        self.encode()
    }
}

/// True when the client selected `totalCount` on this field's result.
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// Turns a service page into a connection.
pub fn connection<M, N, F>(page: PageResult<M>, wrap: F) -> Conn<N>
where
    N: async_graphql::OutputType,
    F: Fn(M) -> N,
{
    let total = page.total.map_or(0, |t| t as i64);
    let mut conn =
        Connection::with_additional_fields(page.has_previous, page.has_next, TotalCount { total_count: total });
    conn.edges.extend(page.rows.into_iter().map(|(cursor, m)| Edge::new(cursor, wrap(m))));
    conn
}

/// Paging arguments of a forward-only connection field.
pub fn forward(first: Option<i32>, after: Option<String>, offset: Option<i32>) -> PageArgs {
    PageArgs { first, after, offset, ..Default::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::paging::{CursorField, SortValue};

    #[test]
    fn a_cursor_reads_back_as_it_was_written() {
        let row = Cursor { field: CursorField::Name, value: SortValue::Text("Ana".into()), id: uuid::Uuid::nil() };
        let text = row.encode_cursor();
        assert_eq!(Cursor::decode_cursor(&text).ok(), Some(row));
        assert!(Cursor::decode_cursor("not-a-cursor").is_err());
    }
}
