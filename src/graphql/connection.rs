//! Relay connections with `totalCount`, counted only when selected.

use crate::domain::paging::PageArgs;
use crate::service::paging::PageResult;
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, SimpleObject};

/// Extra connection field: the number of matching rows.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// Rows matching the filter, over all pages.
    pub total_count: i64,
}

/// A connection of `N` with `totalCount`.
pub type Conn<N> = Connection<String, N, TotalCount>;

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
