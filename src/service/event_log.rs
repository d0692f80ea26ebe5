//! The account event log behind `accountEvents`: every committed event,
//! numbered per organization in commit order with no hole, kept for the
//! configured retention and read back after a cursor.
//!
//! Numbers come from `event_sequences`: a committing transaction bumps its
//! organization's row as one of its last statements and holds the row lock
//! until it commits, so event n+1 of an organization is numbered only after
//! event n has committed. A reader that has seen event n therefore finds
//! every earlier one in the log, and a subscriber that sees n+2 arrive
//! before n+1 knows n+1 is in the log already.
//!
//! Retention: PostgreSQL partitions the log by hour of commit and drops
//! partitions whose hour has passed out of the retention whole (no DELETE
//! per row); SQLite, the single-node default, deletes by the time index.

use crate::error::{AppError, AppResult};
use crate::events::{DomainEvent, Sequenced};
use crate::service::bulk_insert::insert_chunks;
use crate::service::store::Store;
use chrono::{DateTime, Utc};
use entity::account_event;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, Statement,
};
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// A PostgreSQL partition's width.
const HOUR_MS: i64 = 3_600_000;
/// Partitions made ahead of the current hour, so that a replica whose
/// upkeep stalls for a while still writes into partitions.
const HOURS_AHEAD: i64 = 3;
/// The prefix of the hourly partitions' names (the rest is the hour's
/// number since the epoch).
const PARTITION: &str = "account_events_h";

/// Numbers `events` (each organization's after its last) and writes them
/// to the log inside `tx`. Run as the transaction's last work: the
/// organization's sequence row stays locked until the commit.
pub async fn append<C: ConnectionTrait>(tx: &C, events: Vec<DomainEvent>) -> AppResult<Vec<Sequenced>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let mut counts: Vec<(Uuid, i64)> = Vec::new();
    for e in &events {
        match counts.iter_mut().find(|(org, _)| *org == e.organization_id()) {
            Some((_, n)) => *n += 1,
            None => counts.push((e.organization_id(), 1)),
        }
    }
    // One lock order for every writer, should a transaction ever span two.
    counts.sort_unstable();
    let mut next = HashMap::with_capacity(counts.len());
    for (org, n) in counts {
        next.insert(org, bump(tx, org, n).await? - n + 1);
    }
    let mut numbered = Vec::with_capacity(events.len());
    for event in events {
        let slot = next.get_mut(&event.organization_id()).ok_or_else(|| AppError::internal("unnumbered event"))?;
        numbered.push(Sequenced { seq: *slot, event });
        *slot += 1;
    }
    let rows = numbered.iter().map(row).collect::<AppResult<Vec<_>>>()?;
    insert_chunks(tx, rows).await?;
    Ok(numbered)
}

/// Adds `n` to `org`'s last event number and returns the new last one.
async fn bump<C: ConnectionTrait>(tx: &C, org: Uuid, n: i64) -> AppResult<i64> {
    let backend = tx.get_database_backend();
    let (p1, p2) = (crate::db::placeholder(backend, 1), crate::db::placeholder(backend, 2));
    let sql = format!(
        "INSERT INTO event_sequences (organization_id, last_seq) VALUES ({p1}, {p2}) \
         ON CONFLICT (organization_id) DO UPDATE SET last_seq = event_sequences.last_seq + excluded.last_seq \
         RETURNING last_seq"
    );
    let stmt = Statement::from_sql_and_values(backend, sql, [org.into(), n.into()]);
    let row = tx.query_one_raw(stmt).await?.ok_or_else(|| AppError::internal("the event sequence returned no row"))?;
    Ok(row.try_get::<i64>("", "last_seq")?)
}

fn row(e: &Sequenced) -> AppResult<account_event::ActiveModel> {
    Ok(account_event::ActiveModel {
        organization_id: Set(e.organization_id()),
        seq: Set(e.seq),
        at_ms: Set(e.at().timestamp_millis()),
        account_id: Set(e.account_id()),
        payload: Set(serde_json::to_string(&e.event).map_err(AppError::internal)?),
    })
}

/// `org`'s last event number (0 before its first event).
pub async fn last_seq<C: ConnectionTrait>(db: &C, org: Uuid) -> AppResult<i64> {
    let backend = db.get_database_backend();
    let sql =
        format!("SELECT last_seq FROM event_sequences WHERE organization_id = {}", crate::db::placeholder(backend, 1));
    let row = db.query_one_raw(Statement::from_sql_and_values(backend, sql, [org.into()])).await?;
    Ok(row.map(|r| r.try_get::<i64>("", "last_seq")).transpose()?.unwrap_or(0))
}

/// Up to `limit` of `org`'s retained events after number `after`, in order.
pub async fn read_after<C: ConnectionTrait>(db: &C, org: Uuid, after: i64, limit: u64) -> AppResult<Vec<Sequenced>> {
    use account_event::Column as E;
    let rows = account_event::Entity::find()
        .filter(E::OrganizationId.eq(org))
        .filter(E::Seq.gt(after))
        .order_by_asc(E::Seq)
        .limit(limit)
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let event = serde_json::from_str(&r.payload).map_err(AppError::internal)?;
            Ok(Sequenced { seq: r.seq, event })
        })
        .collect()
}

/// How often the upkeep runs: partitions are made hours ahead, and the
/// retention is at least a minute.
const UPKEEP_EVERY: Duration = Duration::from_secs(60);

/// Starts the log's upkeep on `db` (the background pool): at once, then
/// every [`UPKEEP_EVERY`]; times come from the store's clock.
pub fn spawn_upkeep(db: DatabaseConnection, store: Store, retention: Duration) {
    tokio::spawn(async move {
        loop {
            let slot = store.sqlite_write_slot().await;
            if let Err(e) = upkeep(&db, store.clock.now(), retention).await {
                tracing::warn!(error = %e, "event log upkeep failed; trying again later");
            }
            drop(slot);
            tokio::time::sleep(UPKEEP_EVERY).await;
        }
    });
}

/// Keeps the log within `retention` of `now`, and on PostgreSQL makes the
/// partitions of the hours ahead. On SQLite the caller holds the store's
/// write slot.
pub async fn upkeep(db: &DatabaseConnection, now: DateTime<Utc>, retention: Duration) -> AppResult<()> {
    let now_ms = now.timestamp_millis();
    let cutoff = now_ms.saturating_sub(i64::try_from(retention.as_millis()).unwrap_or(i64::MAX));
    if db.get_database_backend() != DbBackend::Postgres {
        // Looked for first: a DELETE takes SQLite's write lock even when
        // nothing matches.
        let old = "SELECT 1 AS old FROM account_events WHERE at_ms < ? LIMIT 1";
        if db.query_one_raw(Statement::from_sql_and_values(DbBackend::Sqlite, old, [cutoff.into()])).await?.is_some() {
            let sql = "DELETE FROM account_events WHERE at_ms < ?";
            db.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, [cutoff.into()])).await?;
        }
        return Ok(());
    }
    let this_hour = now_ms.div_euclid(HOUR_MS);
    for hour in this_hour - 1..=this_hour + HOURS_AHEAD {
        let (from, to) = (hour * HOUR_MS, (hour + 1) * HOUR_MS);
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {PARTITION}{hour} PARTITION OF account_events FOR VALUES FROM ({from}) TO ({to})"
        );
        // Refused when another replica made it a moment ago, or when the
        // default partition already holds rows of that hour (upkeep was
        // down): those rows then leave with the default's DELETE below.
        if let Err(e) = db.execute_unprepared(&sql).await {
            tracing::debug!(error = %e, hour, "an event log partition was not made");
        }
    }
    let sql = "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
               WHERE i.inhparent = 'account_events'::regclass";
    for r in db.query_all_raw(Statement::from_string(DbBackend::Postgres, sql)).await? {
        let name: String = r.try_get("", "name")?;
        let Some(hour) = name.strip_prefix(PARTITION).and_then(|h| h.parse::<i64>().ok()) else { continue };
        if (hour + 1) * HOUR_MS <= cutoff {
            db.execute_unprepared(&format!("DROP TABLE IF EXISTS {PARTITION}{hour}")).await?;
        }
    }
    let sql = "DELETE FROM account_events_default WHERE at_ms < $1";
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [cutoff.into()])).await?;
    Ok(())
}
