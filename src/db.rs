//! Database connection, migrations and the statement counter.

use crate::metrics::Metrics;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr};

/// Connects, counts every statement into `metrics`, and tunes SQLite for a
/// server workload (WAL so readers never wait for the writer).
pub async fn connect(url: &str, max_connections: u32, metrics: &Metrics) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.max_connections(max_connections).sqlx_logging(false);
    let mut db = Database::connect(opts).await?;
    if db.get_database_backend() == DatabaseBackend::Sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    let m = metrics.clone();
    db.set_metric_callback(move |info| m.statement(info.failed));
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
