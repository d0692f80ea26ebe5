//! Multi-row INSERTs for the bulk writers (seed and import): as many rows
//! per statement as the bound-parameter limit allows.

use crate::error::AppResult;
use sea_orm::{ConnectionTrait, EntityTrait, Insert};

/// Rows per multi-row INSERT for a table of `columns` columns: as many as
/// the bound-parameter limit allows (SQLite 32,766; PostgreSQL 65,535).
/// Over TCP each PostgreSQL statement costs a round trip that sqlx leaves
/// to Nagle and delayed ACKs (tens of ms), so fewer, larger statements win.
fn chunk_rows(backend: sea_orm::DbBackend, columns: usize) -> usize {
    let columns = columns.max(1);
    match backend {
        sea_orm::DbBackend::Postgres => 60_000 / columns,
        _ => 30_000 / columns,
    }
}

/// Inserts `rows` in as few statements as the parameter limit allows.
pub async fn insert_chunks<C, A>(db: &C, rows: Vec<A>) -> AppResult<()>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait + Send,
{
    let columns =
        <<<A as sea_orm::ActiveModelTrait>::Entity as EntityTrait>::Column as sea_orm::Iterable>::iter().count();
    let size = chunk_rows(db.get_database_backend(), columns);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(size).collect();
        Insert::many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}
