//! The event outbox: a mutation's events are written in its own
//! transaction, and a relay task (one per replica) moves them to the Redis
//! stream after commit. Redis being down delays events, never loses them,
//! and never slows a write: writers only INSERT here.
//!
//! A relayed row is kept for [`RETENTION`], marked with when it was
//! relayed: Redis keeps its stream in memory only, so if it dies before
//! every replica has read an entry, the rows of the window are relayed
//! again to the new Redis (replicas skip what they already delivered, by
//! outbox id).

use crate::error::AppResult;
use crate::events::redis_stream::RedisStream;
use crate::metrics::Metrics;
use crate::service::store::Store;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait, Value};
use std::sync::Arc;
use std::time::Duration;

/// Rows relayed per round trip.
const BATCH: u64 = 256;
/// How often the relay looks without being woken: rows left behind by a
/// replica that died between commit and relay are picked up by the others.
const SWEEP: Duration = Duration::from_secs(2);
/// Longest pause after a failed relay before the next try.
const MAX_BACKOFF: Duration = Duration::from_millis(400);
/// How long relayed rows are kept, to be relayed again if Redis restarts.
const RETENTION: Duration = Duration::from_secs(60);

/// Milliseconds since the epoch, the outbox's relay mark.
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Writes `payloads` into the outbox inside the caller's transaction.
pub async fn append<C: ConnectionTrait>(tx: &C, payloads: Vec<String>) -> AppResult<()> {
    if payloads.is_empty() {
        return Ok(());
    }
    let backend = tx.get_database_backend();
    let marks: Vec<String> =
        (1..=payloads.len()).map(|i| format!("({})", crate::db::placeholder(backend, i))).collect();
    let sql = format!("INSERT INTO event_outbox (payload) VALUES {}", marks.join(", "));
    let values: Vec<Value> = payloads.into_iter().map(Value::from).collect();
    tx.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// Starts the relay on `db` (a pool of its own, so that background work
/// neither waits for request connections nor counts as request
/// statements): woken after each commit that wrote events, and every
/// [`SWEEP`] regardless.
pub fn spawn_relay(db: DatabaseConnection, store: Store, stream: Arc<RedisStream>, metrics: Metrics) {
    let wake = store.events.relay_wake();
    let mut restarts = stream.restarts();
    tokio::spawn(async move {
        let relay = Relay { db, store, stream };
        let mut backoff = Duration::from_millis(50);
        // A restart whose re-send the database has not taken yet (it may
        // be down too): tried again every round until it is.
        let mut requeue = false;
        loop {
            // Redis came back empty: what it held and some replica may not
            // have read yet goes again.
            if restarts.has_changed().unwrap_or(false) {
                restarts.borrow_and_update();
                requeue = true;
            }
            if requeue {
                match relay.requeue().await {
                    Ok(n) => {
                        requeue = false;
                        tracing::info!(events = n, "redis restarted: relaying the retained events again");
                    }
                    Err(e) => tracing::warn!(error = %e, "could not requeue retained events; trying again"),
                }
                metrics.set_requeue_pending(requeue);
            }
            match relay.once().await {
                // A full batch: there may be more at once.
                Ok(n) if n == BATCH as usize => continue,
                Ok(_) => {
                    backoff = Duration::from_millis(50);
                    if let Err(e) = relay.forget_old().await {
                        tracing::debug!(error = %e, "could not prune the outbox");
                    }
                    tokio::select! {
                        _ = tokio::time::timeout(SWEEP, wake.notified()) => {}
                        // `changed` marks the restart seen: note it here, or
                        // the check at the top of the loop would miss it.
                        changed = restarts.changed() => requeue |= changed.is_ok(),
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "event relay failed; the events wait in the outbox");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    });
}

/// The relay task's handles.
struct Relay {
    /// The relay's own pool.
    db: DatabaseConnection,
    /// For SQLite's write slot, shared with request writers.
    store: Store,
    stream: Arc<RedisStream>,
}

impl Relay {
    /// Relays up to [`BATCH`] rows not relayed yet, oldest first.
    ///
    /// PostgreSQL: the rows are marked in a transaction that commits only once
    /// Redis took them; a second replica's relay skips rows locked by the first.
    /// SQLite (one process, one writer): the rows are read, appended, then
    /// marked, so the single write lock is never held while Redis answers.
    async fn once(&self) -> Result<usize, RelayError> {
        let (conn, stream) = (&self.db, self.stream.as_ref());
        if conn.get_database_backend() == DbBackend::Postgres {
            let tx = conn.begin().await.map_err(db)?;
            let sql = format!(
                "UPDATE event_outbox SET relayed_ms = $1 WHERE id IN \
                 (SELECT id FROM event_outbox WHERE relayed_ms IS NULL ORDER BY id LIMIT {BATCH} \
                  FOR UPDATE SKIP LOCKED) RETURNING id, payload"
            );
            let stmt = Statement::from_sql_and_values(DbBackend::Postgres, sql, [now_ms().into()]);
            let rows = decode(tx.query_all_raw(stmt).await.map_err(db)?)?;
            send(stream, &rows).await?;
            tx.commit().await.map_err(db)?;
            return Ok(rows.len());
        }
        let sql = format!("SELECT id, payload FROM event_outbox WHERE relayed_ms IS NULL ORDER BY id LIMIT {BATCH}");
        let rows = decode(conn.query_all_raw(Statement::from_string(DbBackend::Sqlite, sql)).await.map_err(db)?)?;
        send(stream, &rows).await?;
        if let Some(((first, _), (last, _))) = rows.first().zip(rows.last()) {
            let sql = "UPDATE event_outbox SET relayed_ms = ? WHERE id BETWEEN ? AND ? AND relayed_ms IS NULL";
            self.write(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                sql,
                [now_ms().into(), (*first).into(), (*last).into()],
            ))
            .await?;
        }
        Ok(rows.len())
    }

    /// Marks every retained row as not relayed: after a Redis restart.
    async fn requeue(&self) -> Result<u64, RelayError> {
        let sql = "UPDATE event_outbox SET relayed_ms = NULL WHERE relayed_ms IS NOT NULL";
        self.write(Statement::from_string(self.db.get_database_backend(), sql)).await
    }

    /// Deletes rows relayed longer than [`RETENTION`] ago.
    async fn forget_old(&self) -> Result<u64, RelayError> {
        let backend = self.db.get_database_backend();
        let mark = crate::db::placeholder(backend, 1);
        let cutoff = now_ms() - i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX);
        let sql = format!("DELETE FROM event_outbox WHERE relayed_ms < {mark}");
        self.write(Statement::from_sql_and_values(backend, sql, [cutoff.into()])).await
    }

    /// Runs a write, in SQLite's write slot (shared with request writers).
    async fn write(&self, stmt: Statement) -> Result<u64, RelayError> {
        let _slot = self.store.sqlite_write_slot().await;
        Ok(self.db.execute_raw(stmt).await.map_err(db)?.rows_affected())
    }
}

fn db(e: sea_orm::DbErr) -> RelayError {
    RelayError::Db(e.into())
}

/// `(id, payload)` rows in id order.
fn decode(rows: Vec<sea_orm::QueryResult>) -> Result<Vec<(i64, String)>, RelayError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let id: i64 = row.try_get("", "id").map_err(|e| RelayError::Db(e.into()))?;
        let payload: String = row.try_get("", "payload").map_err(|e| RelayError::Db(e.into()))?;
        out.push((id, payload));
    }
    out.sort_unstable_by_key(|(id, _)| *id);
    Ok(out)
}

async fn send(stream: &RedisStream, rows: &[(i64, String)]) -> Result<(), RelayError> {
    if rows.is_empty() {
        return Ok(());
    }
    stream.append(rows).await.map_err(RelayError::Redis)
}

/// Why a relay round did not complete (its rows stay in the outbox).
#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error("database: {0}")]
    Db(crate::error::AppError),
    #[error("redis: {0}")]
    Redis(redis::RedisError),
}
