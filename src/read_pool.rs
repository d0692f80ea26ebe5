//! Request reads on PostgreSQL, through a pool of connections that go back
//! the moment their statement has read its answer.
//!
//! sqlx's pool pings every connection given back to it: a spawned task and
//! a round trip to the server after each statement, so that a statement
//! cancelled halfway cannot leave its connection mid-answer for the next
//! user. That ping was the largest single cost of reading one account
//! (BENCHMARKS.md). Here a statement that read its answer to the end (or
//! that the server refused, which leaves the connection in a known state)
//! puts its connection straight back. Only one cancelled halfway (a client
//! that went away, the request's time limit) gets what sqlx gives every
//! statement: a task drains the rest of its answer with a ping, within the
//! acquire timeout, and gives it back, or closes it. A connection idle long
//! enough for the server to have gone away is pinged before use, as the
//! request pool does.
//!
//! Writes, transactions, authentication and background work keep sqlx's
//! pool; [`ReadDb`] is how a request's reads find this one.

use crate::db::{record_statement, ACQUIRE_TIMEOUT, PING_IF_IDLE_FOR};
use crate::metrics::Metrics;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgConnection};
use sea_orm::sqlx::{ConnectOptions as _, Connection as _};
use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection unused this long is closed (sqlx's default idle timeout).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// A connection is replaced after this long (sqlx's default lifetime), so
/// that server-side memory a long-lived backend gathers is given back.
const MAX_LIFETIME: Duration = Duration::from_secs(1800);

/// A pool of PostgreSQL connections for reads. Cheap to clone.
#[derive(Clone)]
pub struct ReadPool(Arc<Inner>);

struct Inner {
    options: PgConnectOptions,
    /// Given-back connections, the most recently used last: a request takes
    /// the warmest, and the coldest age out at the front.
    idle: Mutex<VecDeque<Idle>>,
    /// One permit per connection the pool may have open.
    permits: Arc<Semaphore>,
    /// Connections open now, in use or idle.
    open: AtomicI64,
    metrics: Option<Metrics>,
}

struct Idle {
    conn: PgConnection,
    opened: Instant,
    since: Instant,
}

/// A connection out of the pool, with its permit. Dropped while its
/// statement is in flight, it is drained and given back in the background;
/// dropped otherwise, it is closed.
struct Lease {
    conn: Option<PgConnection>,
    opened: Instant,
    in_flight: bool,
    permit: Option<OwnedSemaphorePermit>,
    pool: ReadPool,
}

impl Lease {
    /// `conn` out of `pool`, without a permit yet.
    fn new(pool: &ReadPool, conn: PgConnection, opened: Instant) -> Self {
        Lease { conn: Some(conn), opened, in_flight: false, permit: None, pool: pool.clone() }
    }

    /// Back to the pool, for the next statement.
    fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put(conn, self.opened);
        }
    }

    /// Closed (dropping the connection closes its socket).
    fn close(mut self) {
        if self.conn.take().is_some() {
            self.pool.0.open.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        let runtime = tokio::runtime::Handle::try_current();
        let (Ok(runtime), true) = (runtime, self.in_flight) else {
            self.pool.0.open.fetch_sub(1, Ordering::Relaxed);
            return;
        };
        // Cancelled mid-statement: the ping reads the rest of the answer
        // first. The permit stays held until the connection is back.
        let (pool, opened, permit) = (self.pool.clone(), self.opened, self.permit.take());
        runtime.spawn(async move {
            match tokio::time::timeout(ACQUIRE_TIMEOUT, conn.ping()).await {
                Ok(Ok(())) => pool.put(conn, opened),
                _ => {
                    pool.0.open.fetch_sub(1, Ordering::Relaxed);
                }
            }
            drop(permit);
        });
    }
}

impl ReadPool {
    /// A pool of at most `max_connections` to `options`' server, opening
    /// them on first use (a server down at start is not an error yet), and
    /// counting its statements into `metrics` when given.
    pub fn new(options: PgConnectOptions, max_connections: u32, metrics: Option<Metrics>) -> Self {
        let permits = Semaphore::new(usize::try_from(max_connections.max(1)).unwrap_or(usize::MAX));
        ReadPool(Arc::new(Inner {
            options,
            idle: Mutex::new(VecDeque::new()),
            permits: Arc::new(permits),
            open: AtomicI64::new(0),
            metrics,
        }))
    }

    /// Runs `stmt` and reads every row of its answer.
    pub async fn query_all(&self, mut stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let started = self.0.metrics.as_ref().map(|_| SystemTime::now());
        // The values are moved into the statement's arguments, not copied:
        // a loader's are an array of every key it asks for.
        let values = stmt.values.take().unwrap_or(sea_orm::Values(Vec::new()));
        let result = self.run(&stmt.sql, values).await;
        if let (Some(metrics), Some(started)) = (&self.0.metrics, started) {
            let elapsed = started.elapsed().unwrap_or_default();
            record_statement(metrics, &sea_orm::metric::Info { elapsed, statement: &stmt, failed: result.is_err() });
        }
        result
    }

    /// Connections open now, and how many of them are idle.
    pub fn state(&self) -> (i64, i64) {
        let idle = self.0.idle.lock().unwrap_or_else(PoisonError::into_inner).len();
        (self.0.open.load(Ordering::Relaxed), i64::try_from(idle).unwrap_or(i64::MAX))
    }

    async fn run(&self, sql: &str, values: sea_orm::Values) -> Result<Vec<QueryResult>, DbErr> {
        use sea_orm::sqlx::{query_with, AssertSqlSafe};
        use sea_query_sqlx::SqlxValues;
        let mut lease = tokio::time::timeout(ACQUIRE_TIMEOUT, self.checkout())
            .await
            .map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))??;
        let Some(conn) = lease.conn.as_mut() else {
            return Err(DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed));
        };
        lease.in_flight = true;
        let answer = query_with(AssertSqlSafe(sql), SqlxValues(values)).fetch_all(conn).await;
        lease.in_flight = false;
        match answer {
            Ok(rows) => {
                lease.give_back();
                Ok(rows.into_iter().map(QueryResult::from).collect())
            }
            Err(e) => {
                // The server refused the statement: the connection read the
                // refusal and is in a known state. Anything else (a cut
                // connection, a protocol error) closes it.
                if matches!(e, sea_orm::sqlx::Error::Database(_)) {
                    lease.give_back();
                } else {
                    lease.close();
                }
                Err(DbErr::Query(RuntimeErr::SqlxError(Arc::new(e))))
            }
        }
    }

    /// A permit, then the warmest idle connection (pinged first when it has
    /// been idle long enough for the server to have gone away), else a new
    /// one.
    async fn checkout(&self) -> Result<Lease, DbErr> {
        let permit = self.0.permits.clone().acquire_owned().await;
        let permit = permit.map_err(|_| DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed))?;
        let mut lease = loop {
            let idle = self.0.idle.lock().unwrap_or_else(PoisonError::into_inner).pop_back();
            let Some(Idle { conn, opened, since }) = idle else {
                let conn = self.0.options.connect().await;
                let conn = conn.map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?;
                self.0.open.fetch_add(1, Ordering::Relaxed);
                break Lease::new(self, conn, Instant::now());
            };
            // A lease already, so that a checkout cancelled while pinging
            // still counts the connection closed.
            let mut candidate = Lease::new(self, conn, opened);
            let idle_for = since.elapsed();
            let answers = match candidate.conn.as_mut() {
                _ if idle_for < PING_IF_IDLE_FOR => true,
                Some(conn) if idle_for < IDLE_TIMEOUT => conn.ping().await.is_ok(),
                _ => false,
            };
            if answers {
                break candidate;
            }
            candidate.close();
        };
        lease.permit = Some(permit);
        Ok(lease)
    }

    /// Puts a connection whose statement completed back for the next one,
    /// closing it instead once it has lived its lifetime, and closing the
    /// idle connections that have waited past the idle timeout.
    fn put(&self, conn: PgConnection, opened: Instant) {
        let now = Instant::now();
        if now.duration_since(opened) >= MAX_LIFETIME {
            self.0.open.fetch_sub(1, Ordering::Relaxed);
            return; // dropped: closed
        }
        let mut expired = Vec::new();
        {
            let mut idle = self.0.idle.lock().unwrap_or_else(PoisonError::into_inner);
            while idle.front().is_some_and(|i| now.duration_since(i.since) >= IDLE_TIMEOUT) {
                expired.extend(idle.pop_front());
            }
            idle.push_back(Idle { conn, opened, since: now });
        }
        self.0.open.fetch_sub(i64::try_from(expired.len()).unwrap_or(0), Ordering::Relaxed);
    }
}

/// A request's reads: SeaORM's connection for everything, except that on
/// PostgreSQL queries go through a [`ReadPool`] when there is one. It is a
/// `ConnectionTrait`, so the services read through it unchanged.
#[derive(Clone)]
pub struct ReadDb {
    db: DatabaseConnection,
    pool: Option<ReadPool>,
}

impl ReadDb {
    /// Reads through `db`'s own pool.
    pub fn plain(db: DatabaseConnection) -> Self {
        ReadDb { db, pool: None }
    }

    /// Queries through `pool`, anything else through `db`.
    pub fn with_pool(db: DatabaseConnection, pool: ReadPool) -> Self {
        ReadDb { db, pool: Some(pool) }
    }

    /// The read pool's connections (open, idle), when there is one.
    pub fn pool_state(&self) -> Option<(i64, i64)> {
        self.pool.as_ref().map(ReadPool::state)
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for ReadDb {
    fn get_database_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        self.db.execute_raw(stmt).await
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        self.db.execute_unprepared(sql).await
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        // The whole answer is read so that the connection can go back: a
        // query for one row asks for one (SeaORM's `one` adds LIMIT 1).
        match &self.pool {
            Some(pool) => Ok(pool.query_all(stmt).await?.into_iter().next()),
            None => self.db.query_one_raw(stmt).await,
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match &self.pool {
            Some(pool) => pool.query_all(stmt).await,
            None => self.db.query_all_raw(stmt).await,
        }
    }

    fn support_returning(&self) -> bool {
        self.db.support_returning()
    }
}
