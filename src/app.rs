//! Start-up: connect, migrate, seed an empty database, build the schema and
//! bind. `Application::build` returns a bound server whose `port()` tests
//! read, so they run the real start-up on port 0.

use crate::auth::Principal;
use crate::config::Settings;
use crate::domain::Role;
use crate::events::EventBus;
use crate::graphql::{self, SchemaOptions};
use crate::http::{router, AppState};
use crate::metrics::Metrics;
use crate::service::store::{Policy, Store};
use crate::service::{organizations, secrets, seed};
use anyhow::Context;
use entity::organization;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use std::net::SocketAddr;
use tokio::net::TcpListener;

/// A started, bound gateway.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Connects and migrates the database, seeds it when empty (unless
    /// `no_seed`), and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let metrics = Metrics::default();
        let db = crate::db::connect(&settings.database_url, settings.database_max_connections, &metrics)
            .await
            .context("connecting to the database")?;
        crate::db::migrate(&db).await.context("migrating the database")?;
        let empty = organization::Entity::find().count(&db).await? == 0;
        if empty && !settings.no_seed {
            let key = secrets::card_key(&db, settings.card_hash_key.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let report = seed::seed(&db, organizations::DEMO, 0, &key).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            tracing::info!(accounts = report.accounts, "new database: loaded the demo data set");
        }
        let demo = organizations::ensure(&db, organizations::DEMO).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let principal = Principal { organization_id: demo.id, role: Role::Admin, subject: "demo".into() };
        let card_key =
            secrets::card_key(&db, settings.card_hash_key.as_deref()).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let policy = Policy { forbid_account_deletion: settings.forbid_account_deletion };
        let store = Store::new(db.clone(), EventBus::default(), card_key, policy);
        let schema = graphql::build(store.clone(), SchemaOptions { introspection: settings.introspection });
        let listener = TcpListener::bind(&settings.bind).await.with_context(|| format!("binding {}", settings.bind))?;
        let quotes = crate::pricing::setup::from_settings(settings, &metrics)?;
        let state = AppState {
            schema,
            quotes,
            store,
            db,
            metrics,
            principal,
            loader_delay: settings.dataloader_delay(),
            graphiql: settings.graphiql,
        };
        Ok(Application { listener, state })
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The write side (events, policy), for tests that watch events.
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// The database pool, for tools and tests that prepare data.
    pub fn db(&self) -> &DatabaseConnection {
        &self.state.db
    }

    /// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!("listening on http://{addr}");
        axum::serve(self.listener, router(self.state)).with_graceful_shutdown(shutdown_signal()).await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}
