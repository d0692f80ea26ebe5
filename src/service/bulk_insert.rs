//! Multi-row INSERTs for the bulk writers (seed, import, batches of new
//! accounts): as many rows per statement as the bound-parameter limit
//! allows.

use crate::error::AppResult;
use entity::{account, asset, audit_event, balance_entry, client, idempotency_record, smart_card, wallet};
use sea_orm::{ConnectionTrait, EntityTrait, Insert};

/// The rows of a bulk write, inserted in dependency order.
#[derive(Default)]
pub struct BulkRows {
    /// New clients (owners).
    pub clients: Vec<client::ActiveModel>,
    /// New accounts.
    pub accounts: Vec<account::ActiveModel>,
    /// Their assets.
    pub assets: Vec<asset::ActiveModel>,
    /// The assets' wallets.
    pub wallets: Vec<wallet::ActiveModel>,
    /// The accounts' cards.
    pub cards: Vec<smart_card::ActiveModel>,
    /// The assets' first journal rows.
    pub entries: Vec<balance_entry::ActiveModel>,
    /// The audit events of what was written.
    pub audit: Vec<audit_event::ActiveModel>,
    /// The records of keyed creates.
    pub keys: Vec<idempotency_record::ActiveModel>,
}

impl BulkRows {
    /// Adds `other`'s rows after these.
    pub fn append(&mut self, mut other: BulkRows) {
        self.clients.append(&mut other.clients);
        self.accounts.append(&mut other.accounts);
        self.assets.append(&mut other.assets);
        self.wallets.append(&mut other.wallets);
        self.cards.append(&mut other.cards);
        self.entries.append(&mut other.entries);
        self.audit.append(&mut other.audit);
        self.keys.append(&mut other.keys);
    }

    /// Inserts every row, table by table, in as few statements as the
    /// parameter limit allows.
    pub async fn insert<C: ConnectionTrait>(self, db: &C) -> AppResult<()> {
        insert_chunks(db, self.clients).await?;
        insert_chunks(db, self.accounts).await?;
        insert_chunks(db, self.assets).await?;
        insert_chunks(db, self.wallets).await?;
        insert_chunks(db, self.cards).await?;
        insert_chunks(db, self.entries).await?;
        insert_chunks(db, self.audit).await?;
        insert_chunks(db, self.keys).await?;
        Ok(())
    }
}

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

/// Inserts `rows` in as few statements as the parameter limit allows; the
/// database's error as it is, for callers that name a violated key.
pub async fn insert_chunks<C, A>(db: &C, rows: Vec<A>) -> Result<(), sea_orm::DbErr>
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
