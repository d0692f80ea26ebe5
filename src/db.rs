//! Database connection, migrations, and the statement counter and spans.

use crate::metrics::Metrics;
use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::postgres::PgConnectOptions;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr};
use std::time::Duration;

/// How long a request waits for a pooled connection, and how long opening
/// one may take: with the database down, a request fails with UNAVAILABLE
/// after about this long instead of hanging.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long start-up tries before it reports why the database is not there.
pub const STARTUP_PROBE: Duration = Duration::from_secs(5);
/// A pooled connection idle this long is pinged before a request gets it.
/// Pinging every one (the pools' default) is a round trip to the database
/// before each statement, and the pool already pings each connection as
/// it comes back: a hot connection was checked moments ago. One that fails
/// in between fails its statement with UNAVAILABLE and is closed.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Time limits every statement of a pool's connections runs under, on
/// PostgreSQL (`statement_timeout`, `lock_timeout`); zero is none. A
/// request's statements cannot outlive them even when the request that
/// sent them is gone, and a write waiting for a row lock gives up instead
/// of holding its connection while the lock is held elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest one statement may run.
    pub statement: Duration,
    /// Longest one statement may wait for a lock.
    pub lock: Duration,
}

impl Timeouts {
    /// No limits: migrations and repairs at start, command-line tools.
    pub const NONE: Timeouts = Timeouts { statement: Duration::ZERO, lock: Duration::ZERO };

    /// `options` with the limits as the connection's settings.
    pub fn apply(self, options: PgConnectOptions) -> PgConnectOptions {
        options.options([
            ("statement_timeout", format!("{}ms", self.statement.as_millis())),
            ("lock_timeout", format!("{}ms", self.lock.as_millis())),
        ])
    }
}

/// Connects, counts every statement into `metrics`, and tunes SQLite for a
/// server workload (WAL so readers never wait for the writer). On
/// PostgreSQL every connection runs under `timeouts`.
pub async fn connect(
    url: &str,
    max_connections: u32,
    metrics: &Metrics,
    timeouts: Timeouts,
) -> anyhow::Result<DatabaseConnection> {
    probe(url).await?;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections)
        .connect_timeout(ACQUIRE_TIMEOUT)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
        .map_sqlx_postgres_opts(move |o| timeouts.apply(o))
        .sqlx_logging(false);
    let mut db = Database::connect(opts).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    observe(&mut db, metrics.clone());
    Ok(db)
}

/// A PostgreSQL pool that opens its connections on first use (a server
/// down at start is not an error yet), counting request statements into
/// `metrics` when given.
pub fn connect_lazy(
    url: &str,
    max_connections: u32,
    metrics: Option<&Metrics>,
    timeouts: Timeouts,
) -> anyhow::Result<DatabaseConnection> {
    use sea_orm::sqlx::postgres::PgPoolOptions;
    let options: PgConnectOptions = url.parse().map_err(|e| anyhow::anyhow!("not a PostgreSQL URL: {e}"))?;
    let options = timeouts.apply(options);
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= PING_IF_IDLE_FOR {
                    sea_orm::sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(options);
    let mut db = sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool);
    if let Some(m) = metrics.cloned() {
        observe(&mut db, m);
    }
    Ok(db)
}

/// Counts every statement `db` sends into `metrics` and, when traces are
/// exported, makes a span of it.
fn observe(db: &mut DatabaseConnection, metrics: Metrics) {
    db.set_metric_callback(move |info| record_statement(&metrics, info));
}

/// Counts a request statement and, when traces are exported, makes a span
/// of it (for SeaORM's pools and the read pool alike).
pub(crate) fn record_statement(metrics: &Metrics, info: &sea_orm::metric::Info<'_>) {
    metrics.statement(info.failed);
    crate::telemetry::spans::statement(info);
}

/// The request pool's size and idle connections now.
pub fn pool_state(db: &DatabaseConnection) -> (i64, i64) {
    let (size, idle) = match db.get_database_backend() {
        DatabaseBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
    };
    (i64::from(size), i64::try_from(idle).unwrap_or(i64::MAX))
}

/// A small pool for background tasks (the event relay, the revocation
/// watcher): not counted as request statements, and never competing for
/// request connections.
pub async fn connect_background(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(2).connect_timeout(ACQUIRE_TIMEOUT).acquire_timeout(ACQUIRE_TIMEOUT).sqlx_logging(false);
    Ok(Database::connect(opts).await?)
}

/// One direct connection before the pool is built, so that a mistyped or
/// unreachable PostgreSQL is reported with its own cause (connection
/// refused at host:port, authentication failed, no such database) within
/// [`STARTUP_PROBE`], where the pool would wait 30 s and say only that it
/// timed out.
async fn probe(url: &str) -> anyhow::Result<()> {
    use sea_orm::sqlx::{postgres::PgConnectOptions, ConnectOptions as _, Connection as _};
    if !url.starts_with("postgres") {
        return Ok(());
    }
    let options: PgConnectOptions = url.parse().map_err(|e| anyhow::anyhow!("DATABASE_URL is not valid: {e}"))?;
    let target = format!("{}:{}", options.get_host(), options.get_port());
    match tokio::time::timeout(STARTUP_PROBE, options.connect()).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(anyhow::anyhow!("PostgreSQL at {target} refused the connection: {e}")),
        Err(_) => Err(anyhow::anyhow!("PostgreSQL at {target} did not answer within {STARTUP_PROBE:?}")),
    }
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The `i`-th (from 1) bind placeholder of raw SQL on `backend`: `$i` on
/// PostgreSQL, `?` on SQLite.
pub fn placeholder(backend: sea_orm::DbBackend, i: usize) -> String {
    match backend {
        sea_orm::DbBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    }
}
