//! Keyset paging over any SeaORM select: one statement for the page, one
//! more only when the total was asked for.

use crate::domain::paging::{Cursor, CursorField, Page, SortValue};
use crate::error::AppResult;
use crate::service::by_index::{self, ByIndex, Row};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Select, Value,
};

/// How a list is sorted: a column, then the id as tie-breaker.
pub struct SortSpec<C> {
    /// The field the cursor is made for.
    pub field: CursorField,
    /// The sort column.
    pub column: C,
    /// The id column.
    pub id: C,
    /// Descending order.
    pub desc: bool,
}

/// One page of rows with their cursors.
pub struct PageResult<M> {
    /// Rows in order, each with its cursor.
    pub rows: Vec<(Cursor, M)>,
    /// Whether rows exist before this page.
    pub has_previous: bool,
    /// Whether rows exist after this page.
    pub has_next: bool,
    /// The number of rows matching the filter, when asked for.
    pub total: Option<u64>,
}

fn to_value(v: &SortValue) -> Value {
    match v {
        SortValue::Int(i) => Value::BigInt(Some(*i)),
        SortValue::Time(t) => Value::ChronoDateTimeUtc(Some(*t)),
        SortValue::Text(s) => Value::String(Some(s.clone())),
    }
}

/// `(col, id) > (v, cid)` or `<`, spelled out for both backends.
fn keyset<C: ColumnTrait>(sort: &SortSpec<C>, cursor: &Cursor, greater: bool) -> Condition {
    let v = to_value(&cursor.value);
    let (beyond, id_beyond) = if greater {
        (sort.column.gt(v.clone()), sort.id.gt(cursor.id))
    } else {
        (sort.column.lt(v.clone()), sort.id.lt(cursor.id))
    };
    Condition::any().add(beyond).add(Condition::all().add(sort.column.eq(v)).add(id_beyond))
}

/// Fetches one page of `query` sorted by `sort`; `key` reads a row's sort value.
pub async fn fetch_page<E, C, F>(
    db: &C,
    query: Select<E>,
    sort: &SortSpec<E::Column>,
    page: &Page,
    key: F,
    with_total: bool,
) -> AppResult<PageResult<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync + ByIndex,
    C: ConnectionTrait,
    F: Fn(&E::Model) -> (SortValue, uuid::Uuid),
{
    let reader = PageReader { join: |q| q, decode: |row: Row<'_>| E::Model::decode(row, 0), key };
    fetch_page_joined(db, query, sort, page, with_total, reader).await
}

/// How [`fetch_page_joined`] reads a page's rows.
pub struct PageReader<J, D, F> {
    /// Turns the filtered select into the statement run (a join of the
    /// rows related to each).
    pub join: J,
    /// Reads one row of that statement.
    pub decode: D,
    /// The sort value of a decoded row, with its id.
    pub key: F,
}

/// Like [`fetch_page`], reading each row of the page with related ones
/// joined to it (`reader` says how); the total counts `query`'s rows.
pub async fn fetch_page_joined<E, C, Q, T, J, D, F>(
    db: &C,
    query: Select<E>,
    sort: &SortSpec<E::Column>,
    page: &Page,
    with_total: bool,
    reader: PageReader<J, D, F>,
) -> AppResult<PageResult<T>>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
    Q: QueryTrait + QueryOrder + QuerySelect,
    J: FnOnce(Select<E>) -> Q,
    D: Fn(Row<'_>) -> Result<T, DbErr>,
    F: Fn(&T) -> (SortValue, uuid::Uuid),
{
    let total = if with_total { Some(query.clone().count(db).await?) } else { None };
    let mut q = query;
    if let Some(c) = &page.after {
        q = q.filter(keyset(sort, c, !sort.desc));
    }
    if let Some(c) = &page.before {
        q = q.filter(keyset(sort, c, sort.desc));
    }
    let order = if sort.desc != page.backward { Order::Desc } else { Order::Asc };
    let q = (reader.join)(q)
        .order_by(sort.column, order.clone())
        .order_by(sort.id, order)
        .offset(page.offset)
        .limit(page.limit + 1);
    let read = by_index::rows(db, &q).await?;
    let mut found: Vec<T> = read.into_iter().map(&reader.decode).collect::<Result<_, _>>()?;
    let more = found.len() as u64 > page.limit;
    found.truncate(page.limit as usize);
    if page.backward {
        found.reverse();
    }
    let found = found
        .into_iter()
        .map(|m| {
            let (value, id) = (reader.key)(&m);
            (Cursor { field: sort.field, value, id }, m)
        })
        .collect();
    let (has_previous, has_next) =
        if page.backward { (more, page.before.is_some()) } else { (page.after.is_some() || page.offset > 0, more) };
    Ok(PageResult { rows: found, has_previous, has_next, total })
}

fn compare(a: &(SortValue, uuid::Uuid), b: &(SortValue, uuid::Uuid)) -> std::cmp::Ordering {
    let by_value = match (&a.0, &b.0) {
        (SortValue::Int(x), SortValue::Int(y)) => x.cmp(y),
        (SortValue::Time(x), SortValue::Time(y)) => x.cmp(y),
        (SortValue::Text(x), SortValue::Text(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    };
    by_value.then(a.1.cmp(&b.1))
}

/// The first page, newest first, of rows a loader read for a whole page
/// of parents (`limit + 1` each): no total (that needs a count of its own).
pub fn newest_first_page<M, F>(rows: Vec<M>, page: &Page, at_and_id: F) -> PageResult<M>
where
    F: Fn(&M) -> (chrono::DateTime<chrono::Utc>, uuid::Uuid),
{
    let spec = SortSpec { field: CursorField::At, column: (), id: (), desc: true };
    let mut sliced = slice_page(rows, &spec, page, |m| {
        let (at, id) = at_and_id(m);
        (SortValue::Time(at), id)
    });
    sliced.total = None;
    sliced
}

/// Pages rows already loaded and sorted by `sort` (a loader's children),
/// with the same cursors and rules as [`fetch_page`].
pub fn slice_page<M, C, F>(rows: Vec<M>, sort: &SortSpec<C>, page: &Page, key: F) -> PageResult<M>
where
    F: Fn(&M) -> (SortValue, uuid::Uuid),
{
    let total = rows.len() as u64;
    let beyond = |k: &(SortValue, uuid::Uuid), c: &Cursor| {
        let ord = compare(k, &(c.value.clone(), c.id));
        if sort.desc {
            ord.is_lt()
        } else {
            ord.is_gt()
        }
    };
    let mut kept: Vec<(Cursor, M)> = rows
        .into_iter()
        .filter_map(|m| {
            let k = key(&m);
            let after_ok = page.after.as_ref().is_none_or(|c| beyond(&k, c));
            after_ok.then_some((Cursor { field: sort.field, value: k.0, id: k.1 }, m))
        })
        .skip(page.offset as usize)
        .collect();
    let more = kept.len() as u64 > page.limit;
    kept.truncate(page.limit as usize);
    PageResult { rows: kept, has_previous: page.after.is_some() || page.offset > 0, has_next: more, total: Some(total) }
}
