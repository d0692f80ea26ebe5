//! Reads from a PostgreSQL streaming replica (`DATABASE_READ_URL`).
//!
//! Queries read from the replica while it is usable; mutations (and the
//! reads that build a mutation's answer), subscriptions, authentication
//! and every write stay on the primary. A monitor asks both servers a few
//! times a second: the replica is usable when it has replayed the WAL the
//! primary had written at the moment of asking, or when the commit it last
//! replayed is at most `max_lag` old. A replica that lags further, cannot
//! be reached, or has stopped replaying is left alone until it is usable
//! again: reads fall back to the primary within one check.

use crate::metrics::Metrics;
use crate::read_pool::ReadDb;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the monitor checks the replica.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Where reads go.
#[derive(Clone)]
pub struct ReadRouting {
    primary: ReadDb,
    replica: Option<Arc<Replica>>,
}

struct Replica {
    db: ReadDb,
    usable: AtomicBool,
}

impl ReadRouting {
    /// Everything on the primary.
    pub fn primary_only(primary: ReadDb) -> Self {
        ReadRouting { primary, replica: None }
    }

    /// Queries on the replica pool `replica` while it keeps within
    /// `max_lag` of the primary; `probe` is a small pool of each server for
    /// the monitor (not counted as request statements).
    pub fn with_replica(
        primary: ReadDb,
        replica: ReadDb,
        probe: (DatabaseConnection, DatabaseConnection),
        max_lag: Duration,
        metrics: Metrics,
    ) -> Self {
        // Unusable until the first check says otherwise.
        let replica = Arc::new(Replica { db: replica, usable: AtomicBool::new(false) });
        let watched = replica.clone();
        tokio::spawn(async move {
            let (on_primary, on_replica) = probe;
            loop {
                let lag = lag(&on_primary, &on_replica).await;
                let usable = lag.is_some_and(|l| l <= max_lag);
                if watched.usable.swap(usable, Ordering::Relaxed) != usable {
                    match lag {
                        Some(l) if usable => tracing::info!(lag_ms = l.as_millis() as u64, "reading from the replica"),
                        Some(l) => {
                            tracing::warn!(lag_ms = l.as_millis() as u64, "the replica lags; reading from the primary")
                        }
                        None => tracing::warn!("the replica does not answer; reading from the primary"),
                    }
                }
                metrics.set_replica(usable, lag);
                tokio::time::sleep(CHECK_EVERY).await;
            }
        });
        ReadRouting { primary, replica: Some(replica) }
    }

    /// The primary: for writes, and for reads that must see them.
    pub fn primary(&self) -> &ReadDb {
        &self.primary
    }

    /// The read pools' connections (open, idle), primary and replica
    /// together.
    pub fn pool_state(&self) -> (i64, i64) {
        let replica = self.replica.as_ref().and_then(|r| r.db.pool_state());
        [self.primary.pool_state(), replica].into_iter().flatten().fold((0, 0), |(o, i), (o2, i2)| (o + o2, i + i2))
    }

    /// Where a query reads: the replica while it is usable.
    pub fn for_queries(&self) -> &ReadDb {
        match &self.replica {
            Some(r) if r.usable.load(Ordering::Relaxed) => &r.db,
            _ => &self.primary,
        }
    }
}

/// How far the replica is behind the primary now, `None` when either
/// cannot say (down, unreachable, not a PostgreSQL server).
async fn lag(primary: &DatabaseConnection, replica: &DatabaseConnection) -> Option<Duration> {
    let at = primary.query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT pg_current_wal_lsn()::text"));
    let lsn: String = at.await.ok()??.try_get_by_index(0).ok()?;
    // Caught up: it has replayed what the primary had written when asked
    // (a server not in recovery is its own primary, and always is).
    // Otherwise: the age of the last commit it replayed.
    let sql = "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= $1::pg_lsn, \
               COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 1e9)::float8";
    let row = replica.query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [lsn.into()]));
    let row = row.await.ok()??;
    let caught_up: bool = row.try_get_by_index(0).ok()?;
    let age: f64 = row.try_get_by_index(1).ok()?;
    Some(if caught_up { Duration::ZERO } else { Duration::from_secs_f64(age.clamp(0.0, 1e9)) })
}
