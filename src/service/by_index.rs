//! Rows decoded by position. SeaORM's derived decoding finds every value
//! by its column's name: a hash per value, and in a join (`A_id`, `B_id`)
//! a `format!` of the prefixed name per value as well. On a page of 50
//! accounts with their relations that was a tenth of the gateway's CPU.
//! The tables a page reads decode by position instead: a model's columns
//! are consecutive in a row, in its entity's column order (which a test
//! checks against each entity), and a join's models follow one another.
//!
//! On PostgreSQL the values are read from sqlx's row directly. Through
//! SeaORM each optional value that is NULL formats its column index into
//! an error that is then dropped, a money column first fails to decode as
//! text (formatting sqlx's mismatch error), and sqlx compares every
//! value's SQL type with the Rust type: together a fifth of a page's CPU.
//! Here a column's SQL type is checked against the Rust type once per
//! result, the first time a row reads it as that type (NULL or not); the
//! rows of a result share their columns, so later values of that column
//! read as that type are decoded without checking again.

use crate::error::AppResult;
use chrono::{DateTime, Utc};
use entity::Amount;
use rust_decimal::Decimal;
use sea_orm::sqlx::postgres::{PgRow, Postgres};
use sea_orm::sqlx::{Column, Decode, Row as _, Type, TypeInfo};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryResult, QueryTrait, Select, TryGetable};
use std::any::TypeId;
use std::cell::Cell;
use uuid::Uuid;

/// The rows of one result, to decode by position.
pub struct Rows {
    results: Vec<QueryResult>,
    /// Per column (PostgreSQL): the Rust type its SQL type was checked
    /// against, once a row has read it.
    checked: Vec<Cell<Option<TypeId>>>,
}

impl Rows {
    fn new(results: Vec<QueryResult>) -> Self {
        let columns = results.first().and_then(|r| r.try_as_pg_row()).map_or(0, |pg| pg.columns().len());
        Rows { results, checked: vec![Cell::new(None); columns] }
    }

    /// The first row, if any.
    pub fn first(&self) -> Option<Row<'_>> {
        self.into_iter().next()
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = Row<'a>;
    type IntoIter = RowIter<'a>;

    fn into_iter(self) -> RowIter<'a> {
        RowIter { results: self.results.iter(), checked: &self.checked }
    }
}

/// The rows of a [`Rows`], in order.
pub struct RowIter<'a> {
    results: std::slice::Iter<'a, QueryResult>,
    checked: &'a [Cell<Option<TypeId>>],
}

impl<'a> Iterator for RowIter<'a> {
    type Item = Row<'a>;

    fn next(&mut self) -> Option<Row<'a>> {
        let result = self.results.next()?;
        Some(Row { result, pg: result.try_as_pg_row(), checked: self.checked })
    }
}

/// One row of a result.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    result: &'a QueryResult,
    /// The same row as sqlx's, on PostgreSQL.
    pg: Option<&'a PgRow>,
    /// Per column of the result, the Rust type it was checked against.
    checked: &'a [Cell<Option<TypeId>>],
}

impl Row<'_> {
    /// The value of column `at`.
    pub fn get<T: Field>(&self, at: usize) -> Result<T, DbErr> {
        T::get(self, at)
    }
}

/// A value a model field holds, read from a row by position.
pub trait Field: Sized {
    /// The value of column `at` of `row`.
    fn get(row: &Row<'_>, at: usize) -> Result<Self, DbErr>;
}

/// Column `at` of a PostgreSQL row as `T`; the column's SQL type is
/// checked against `T` the first time a row of the result reads it as `T`.
fn pg_value<T>(row: &PgRow, at: usize, checked: &[Cell<Option<TypeId>>]) -> Result<T, DbErr>
where
    T: for<'r> Decode<'r, Postgres> + Type<Postgres> + 'static,
{
    let seen = checked.get(at).ok_or_else(|| DbErr::Type(format!("no column {at} in the row")))?;
    if seen.get() != Some(TypeId::of::<T>()) {
        let column = row.try_column(at).map_err(|e| DbErr::Type(e.to_string()))?;
        if !T::compatible(column.type_info()) {
            return Err(DbErr::Type(format!(
                "column {} holds {}, not {}",
                column.name(),
                column.type_info().name(),
                std::any::type_name::<T>()
            )));
        }
        seen.set(Some(TypeId::of::<T>()));
    }
    row.try_get_unchecked(at).map_err(|e| DbErr::Type(e.to_string()))
}

/// Fields that sqlx decodes as they are on PostgreSQL, and SeaORM elsewhere.
macro_rules! field {
    ($($t:ty),+ $(,)?) => {$(
        impl Field for $t {
            fn get(row: &Row<'_>, at: usize) -> Result<Self, DbErr> {
                match row.pg {
                    Some(pg) => pg_value(pg, at, row.checked),
                    None => Ok(<$t as TryGetable>::try_get_by_index(row.result, at)?),
                }
            }
        }
    )+};
}

field!(
    String,
    Option<String>,
    Uuid,
    Option<Uuid>,
    i32,
    i64,
    bool,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    serde_json::Value,
    Option<serde_json::Value>,
);

impl Field for Amount {
    fn get(row: &Row<'_>, at: usize) -> Result<Self, DbErr> {
        match row.pg {
            // NUMERIC, decoded exactly; SQLite keeps text, which `Amount` reads.
            Some(pg) => pg_value::<Decimal>(pg, at, row.checked).map(Amount),
            None => Ok(<Amount as TryGetable>::try_get_by_index(row.result, at)?),
        }
    }
}

/// A model read from consecutive columns of a row.
pub trait ByIndex: Sized {
    /// Its fields, in the order its entity selects their columns.
    const FIELDS: &'static [&'static str];

    /// The model whose columns start at `at`.
    fn decode(row: Row<'_>, at: usize) -> Result<Self, DbErr>;

    /// The model whose columns start at `at`, or `None` where a left join
    /// found no row: its first column, the primary key, is NULL.
    fn decode_joined(row: Row<'_>, at: usize) -> Result<Option<Self>, DbErr> {
        match row.get::<Option<Uuid>>(at)? {
            Some(_) => Self::decode(row, at).map(Some),
            None => Ok(None),
        }
    }
}

macro_rules! by_index {
    ($($table:ident),+ $(,)?) => {$(
        impl ByIndex for entity::$table::Model {
            const FIELDS: &'static [&'static str] = entity::$table::Model::FIELDS;

            fn decode(row: Row<'_>, at: usize) -> Result<Self, DbErr> {
                entity::$table::Model::from_positions(&row, at)
            }
        }
    )+};
}

impl<T: Field> entity::Get<T> for Row<'_> {
    fn get_at(&self, at: usize) -> Result<T, DbErr> {
        T::get(self, at)
    }
}

crate::by_index_tables!(by_index);

/// Calls `$then!` with every table whose rows decode by position, so that
/// the tests of each (column order here, equality with SeaORM's decoding in
/// `tests/api/decoding.rs`) cover a table as soon as it is added.
#[macro_export]
macro_rules! by_index_tables {
    ($then:ident) => {
        $then!(
            account,
            account_type,
            asset,
            audit_event,
            balance_entry,
            client,
            currency,
            currency_network,
            network,
            project,
            smart_card,
            transfer,
            wallet
        );
    };
}

/// The rows `query` (a select of one entity or a join) returns, to decode
/// by position.
pub async fn rows<C: ConnectionTrait, Q: QueryTrait>(db: &C, query: &Q) -> AppResult<Rows> {
    Ok(Rows::new(db.query_all_raw(query.build(db.get_database_backend())).await?))
}

/// Every model `query` selects.
pub async fn all<C, E>(db: &C, query: Select<E>) -> AppResult<Vec<E::Model>>
where
    C: ConnectionTrait,
    E: EntityTrait,
    E::Model: ByIndex,
{
    let rows = rows(db, &query).await?;
    Ok(rows.into_iter().map(|r| E::Model::decode(r, 0)).collect::<Result<_, _>>()?)
}

/// Each row of a `find_also_related` join: the model, and its related one
/// where there is one.
pub async fn pairs<C, Q, A, B>(db: &C, query: &Q) -> AppResult<Vec<(A, Option<B>)>>
where
    C: ConnectionTrait,
    Q: QueryTrait,
    A: ByIndex,
    B: ByIndex,
{
    let rows = rows(db, query).await?;
    let pair = |r: Row<'_>| Ok::<_, DbErr>((A::decode(r, 0)?, B::decode_joined(r, A::FIELDS.len())?));
    Ok(rows.into_iter().map(pair).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::ByIndex;
    use sea_orm::{EntityTrait, Iterable};

    /// The field names an entity's columns stand for (`OrganizationId` is
    /// `organization_id`), in the order it selects them.
    fn fields<E: EntityTrait>() -> Vec<String>
    where
        E::Column: std::fmt::Debug,
    {
        let snake = |camel: String| {
            camel.chars().enumerate().fold(String::new(), |mut out, (i, ch)| {
                if ch.is_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(ch.to_ascii_lowercase());
                out
            })
        };
        E::Column::iter().map(|c| snake(format!("{c:?}"))).collect()
    }

    #[test]
    fn fields_are_listed_in_column_order() {
        macro_rules! check {
            ($($table:ident),+) => {$(
                assert_eq!(
                    <entity::$table::Model as ByIndex>::FIELDS,
                    fields::<entity::$table::Entity>().as_slice(),
                    stringify!($table)
                );
            )+};
        }
        crate::by_index_tables!(check);
    }
}
