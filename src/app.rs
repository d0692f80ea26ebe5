//! Start-up: connect, migrate, seed an empty database, build the schema and
//! bind. `Application::build` returns a bound server whose `port()` tests
//! read, so they run the real start-up on port 0.

use crate::auth::jwt::{JwtConfig, JwtVerifier};
use crate::auth::rate_limit::RateLimiter;
use crate::auth::{Authenticator, Principal};
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::Role;
use crate::events::EventBus;
use crate::graphql::limits::Limits;
use crate::graphql::{self, SchemaOptions};
use crate::http::sockets::{CredentialSockets, SocketCounter};
use crate::http::ws::WsConfig;
use crate::http::{router, AppState};
use crate::metrics::Metrics;
use crate::read_pool::{ReadDb, ReadPool};
use crate::redis_cache::RedisLayer;
use crate::service::store::{Policy, Store};
use crate::service::{api_keys, organizations, secrets, seed};
use anyhow::Context;
use entity::organization;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// A started, bound gateway.
pub struct Application {
    listener: TcpListener,
    /// `/metrics` on an address of its own (`METRICS_BIND`), when set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    initial_admin_key: Option<String>,
    /// How long requests in flight may take once shutdown begins.
    grace: Duration,
    /// How long the server keeps accepting, not ready, once shutdown begins.
    drain: Duration,
}

/// What start-up found or made in the database.
struct Prepared {
    card_key: Vec<u8>,
    /// The first admin key, to be shown once.
    initial_admin_key: Option<String>,
    demo: entity::organization::Model,
}

/// Applies pending migrations, then repairs what a migration alone cannot:
/// balance journals backfilled before the journal existed
/// (`service::journal_repair`). Every start and every command does it.
pub async fn upgrade(db: &DatabaseConnection, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
    crate::db::migrate(db).await.context("migrating the database")?;
    let repaired = crate::service::journal_repair::run(db, now).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    if repaired != Default::default() {
        tracing::info!(?repaired, "balance journals backfilled before the journal existed: repaired");
    }
    Ok(())
}

/// Migrates the database, reads the card key, and on first start loads
/// the demo data and makes the first admin key.
async fn prepare_database(db: &DatabaseConnection, settings: &Settings, clock: &Clock) -> anyhow::Result<Prepared> {
    let fail = |e: crate::error::AppError| anyhow::anyhow!("{e:?}");
    upgrade(db, clock.now()).await?;
    let card_key = secrets::card_key(db, &settings.card_key_source()).await?;
    let empty = organization::Entity::find().count(db).await? == 0;
    if empty && !settings.no_seed {
        let report = seed::seed(db, organizations::DEMO, 0, &card_key, clock.now()).await.map_err(fail)?;
        tracing::info!(accounts = report.accounts, "new database: loaded the demo data set");
    }
    // A database without any API key (new, or filled by `seed` before the
    // first serve) gets one admin key, shown once, so that a newcomer can
    // explore at once.
    let keyless = entity::api_key::Entity::find().count(db).await? == 0;
    let initial_admin_key = if keyless {
        Some(api_keys::create(db, organizations::DEMO, Role::Admin, "initial-admin").await.map_err(fail)?.1)
    } else {
        None
    };
    let demo = organizations::ensure(db, organizations::DEMO).await.map_err(fail)?;
    Ok(Prepared { card_key, initial_admin_key, demo })
}

/// With `--dev`, who a request without a credential acts as: the demo
/// organization's ADMIN, and only on a loopback address.
fn dev_principal(settings: &Settings, demo: uuid::Uuid) -> anyhow::Result<Option<Principal>> {
    if !settings.dev {
        return Ok(None);
    }
    let loopback = match settings.bind.parse::<SocketAddr>() {
        Ok(a) => a.ip().is_loopback(),
        Err(_) => settings.bind.starts_with("localhost:"),
    };
    anyhow::ensure!(loopback, "--dev is allowed on a loopback address only (not {})", settings.bind);
    tracing::warn!("--dev: requests without a credential act as the demo organization's ADMIN");
    Ok(Some(Principal {
        organization_id: demo,
        role: Role::Admin,
        subject: "dev".into(),
        expires_at: None,
        api_key_id: None,
        issuer: None,
    }))
}

/// The schema's limits and switches.
fn schema_options(settings: &Settings) -> SchemaOptions {
    SchemaOptions {
        introspection: settings.introspection,
        max_depth: settings.max_depth,
        max_complexity: settings.max_complexity,
    }
}

/// The query length, alias and root-field limits.
fn limits(settings: &Settings) -> Limits {
    Limits {
        max_query_length: settings.max_query_length,
        max_aliases: settings.max_aliases,
        max_root_fields: settings.max_root_fields,
    }
}

/// What a document's weight decides: its charge to the rate budget, its
/// organization's share of work in flight, and whether it runs on a thread
/// of its own.
fn admission(settings: &Settings, limiter: &RateLimiter) -> crate::http::admission::Admission {
    let share = settings.tenant_max_concurrent_cost.unwrap_or(settings.max_complexity);
    let wait = Duration::from_millis(settings.tenant_queue_ms);
    crate::http::admission::Admission {
        limiter: (limiter.per_second() > 0.0).then(|| limiter.clone()),
        cost_per_token: settings.rate_limit_cost_per_token,
        work: crate::tenant_slots::TenantSlots::weighing(share, wait, "of weight"),
        heavy_from: settings.heavy_document_cost,
    }
}

/// Each organization's share of the pools.
fn tenant_slots(settings: &Settings) -> crate::tenant_slots::TenantSlots {
    let half_the_pool = usize::try_from(settings.database_max_connections / 2).unwrap_or(1).max(1);
    let per_tenant = settings.tenant_max_concurrent_requests.unwrap_or(half_the_pool);
    crate::tenant_slots::TenantSlots::new(per_tenant, Duration::from_millis(settings.tenant_queue_ms))
}

/// The WebSocket limits and timers.
fn ws_config(settings: &Settings) -> WsConfig {
    WsConfig {
        init_timeout: Duration::from_millis(settings.ws_init_timeout_ms),
        keepalive: Duration::from_secs(settings.ws_keepalive_secs.max(1)),
        max_subscriptions: settings.ws_max_subscriptions,
        max_sockets_per_credential: settings.ws_max_sockets_per_credential,
        outbox_bytes: settings.ws_outbox_bytes,
        slow_consumer: Duration::from_millis(settings.ws_slow_consumer_ms),
        max_message_bytes: settings.ws_max_message_bytes,
        max_init_bytes: 64 * 1024,
        operation_timeout: Duration::from_millis(settings.request_timeout_ms),
    }
}

/// Where queries read: the replica of `DATABASE_READ_URL` (PostgreSQL
/// only) while it keeps up, else the primary. The replica may be down at
/// start: its pools connect lazily and the monitor decides.
async fn read_routing(
    settings: &Settings,
    primary: &DatabaseConnection,
    background: &DatabaseConnection,
    metrics: &Metrics,
) -> anyhow::Result<crate::replica::ReadRouting> {
    use crate::replica::ReadRouting;
    let reads = |db: DatabaseConnection, url: &str| {
        let own_pool = settings.database_read_pool && db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
        if !own_pool {
            return Ok(ReadDb::plain(db));
        }
        let options = url.parse().map_err(|e| anyhow::anyhow!("not a PostgreSQL URL: {e}"))?;
        let options = settings.database_timeouts().apply(options);
        let size = settings.database_read_max_connections.unwrap_or(settings.database_max_connections);
        let pool = ReadPool::new(options, size, Some(metrics.clone()));
        anyhow::Ok(ReadDb::with_pool(db, pool))
    };
    let on_primary = reads(primary.clone(), &settings.database_url)?;
    let Some(url) = &settings.database_read_url else { return Ok(ReadRouting::primary_only(on_primary)) };
    if primary.get_database_backend() != sea_orm::DatabaseBackend::Postgres || !url.starts_with("postgres") {
        anyhow::bail!("DATABASE_READ_URL needs PostgreSQL for both DATABASE_URL and the replica");
    }
    let timeouts = settings.database_timeouts();
    let replica =
        reads(crate::db::connect_lazy(url, settings.database_max_connections, Some(metrics), timeouts)?, url)?;
    let probe = crate::db::connect_lazy(url, 1, None, timeouts);
    let max_lag = Duration::from_millis(settings.database_read_max_lag_ms);
    Ok(ReadRouting::with_replica(on_primary, replica, (background.clone(), probe?), max_lag, metrics.clone()))
}

impl Application {
    /// Connects and migrates the database, seeds it when empty (unless
    /// `no_seed`), and binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Clock::system()).await
    }

    /// Like [`Application::build`], with every time-dependent rule reading
    /// `clock` (tests pin it to a chosen instant).
    pub async fn build_with_clock(settings: &Settings, clock: Clock) -> anyhow::Result<Self> {
        let metrics = Metrics::default();
        let timeouts = settings.database_timeouts();
        let db = crate::db::connect(&settings.database_url, settings.database_max_connections, &metrics, timeouts)
            .await
            .context("connecting to the database")?;
        // Migrations and repairs may run long on a large database: on
        // PostgreSQL they get a connection without the requests' limits.
        let apart =
            db.get_database_backend() == sea_orm::DatabaseBackend::Postgres && timeouts != crate::db::Timeouts::NONE;
        let setup = if apart {
            crate::db::connect(&settings.database_url, 1, &metrics, crate::db::Timeouts::NONE).await?
        } else {
            db.clone()
        };
        let Prepared { card_key, initial_admin_key, demo } = prepare_database(&setup, settings, &clock).await?;
        if apart {
            setup.close().await.ok();
        }
        let revocations = crate::auth::revocations::Revocations::default();
        let failures = crate::auth::failures::Failures::new(
            settings.auth_failures_per_minute,
            settings.auth_failure_burst,
            settings.trusted_proxy_header.clone(),
        );
        // Keys are read through a small pool of their own: authentication
        // never waits behind request work, however busy the request pool.
        let key_db = crate::db::connect(&settings.database_url, 2, &metrics, timeouts).await?;
        let mut auth = Authenticator::new(key_db, jwt_verifier(settings)?, dev_principal(settings, demo.id)?)
            .with_failure_limit(failures);
        if settings.api_key_cache && db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            let keys = crate::auth::key_cache::KeyCache::new(metrics.clone());
            let sockets = revocations.clone();
            keys.listen(settings.database_url.to_string(), move || sockets.poke()).await;
            auth = auth.with_key_cache(keys);
        }
        let policy = Policy {
            forbid_account_deletion: settings.forbid_account_deletion,
            transitions: settings.status_transitions,
        };
        let redis = crate::redis_conn::RedisTarget::from_settings(settings)?;
        let events = match &redis {
            Some(target) => EventBus::with_redis(target.clone(), &settings.redis_prefix, metrics.clone()),
            None => EventBus::default().with_metrics(metrics.clone()),
        };
        let store = Store::new(db.clone(), events, card_key, policy, clock.clone());
        // Background work (event relay, revocation watcher) has a pool of
        // its own: not counted as request statements, never competing with
        // requests for a connection.
        let background = crate::db::connect_background(&settings.database_url).await?;
        if let Some(stream) = store.events.stream() {
            crate::service::outbox::spawn_relay(background.clone(), store.clone(), stream.clone(), metrics.clone());
        }
        revocations.spawn_watcher(background.clone());
        let retention = Duration::from_secs(settings.events_retention_secs);
        crate::service::event_log::spawn_upkeep(background.clone(), store.clone(), retention);

        let listener = TcpListener::bind(&settings.bind).await.with_context(|| format!("binding {}", settings.bind))?;
        let metrics_listener = match &settings.metrics_bind {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("binding METRICS_BIND {addr}"))?),
            None => None,
        };
        let history = crate::pricing::history::HistorySink::spawn(background.clone(), store.clone());
        let quotes = crate::pricing::setup::from_settings(settings, redis.clone(), &metrics, clock, Some(history))?;
        let redis_layer = |namespace: &str| {
            let timeout = Duration::from_millis(settings.redis_timeout_ms);
            (redis.clone()).map(|t| RedisLayer::new(t, &settings.redis_prefix, namespace, timeout, metrics.clone()))
        };
        let persisted_redis = redis_layer("apq:");
        let limiter = RateLimiter::new(settings.rate_limit_per_second, settings.rate_limit_burst);
        // With Redis every replica draws from one bucket per credential.
        let limiter = match redis_layer("rl:") {
            Some(shared) => limiter.shared(shared),
            None => limiter,
        };
        let schema = graphql::build(store.clone(), schema_options(settings));
        let weights = graphql::weights(store.clone(), schema_options(settings));
        let origins = crate::http::origin::Origins {
            cors: crate::http::origin::parse("CORS_ORIGINS", &settings.cors_origins)?,
            websocket: crate::http::origin::parse("WS_ORIGINS", &settings.ws_origins)?,
            dev: settings.dev,
        };
        let reads = read_routing(settings, &db, &background, &metrics).await?;
        let admission = admission(settings, &limiter);
        let state = AppState {
            schema,
            quotes,
            store,
            db,
            reads,
            metrics,
            auth,
            limiter,
            tenants: tenant_slots(settings),
            weights,
            admission,
            loader_delay: settings.dataloader_delay(),
            graphiql: settings.graphiql,
            persisted: crate::http::persisted::PersistedQueries::new(settings.persisted_queries_bytes, persisted_redis),
            documents: crate::graphql::documents::Documents::new(limits(settings)),
            max_body_bytes: settings.max_body_bytes,
            request_timeout: Duration::from_millis(settings.request_timeout_ms),
            origins,
            ws: ws_config(settings),
            shutdown: tokio::sync::watch::channel(false).0,
            sockets: SocketCounter::default(),
            ws_credentials: CredentialSockets::default(),
            ws_operations: SocketCounter::default(),
            fanout: Default::default(),
            revocations,
        };
        let grace = Duration::from_secs(settings.shutdown_grace_secs);
        let drain = Duration::from_secs(settings.shutdown_drain_secs);
        Ok(Application { listener, metrics_listener, state, initial_admin_key, grace, drain })
    }

    /// The admin API key made for a new database, if this start made one.
    pub fn initial_admin_key(&self) -> Option<&str> {
        self.initial_admin_key.as_deref()
    }

    /// The bound address (the real port when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Where `/metrics` is served when it has an address of its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
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
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes. Then WebSockets are closed with 1001
    /// (the HTTP server's graceful shutdown does not drain upgraded
    /// connections) and in-flight requests finish.
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!("listening on http://{addr}");
        let closing = self.state.shutdown.clone();
        let mut draining = closing.subscribe();
        let sockets = self.state.sockets.clone();
        let (grace, drain) = (self.grace, self.drain);
        let signal = async move {
            stop.await;
            // From here /readyz answers 503 and WebSockets close with 1001;
            // new connections are still taken for `drain`, so that a load
            // balancer sees the 503 before the listener closes.
            let _ = closing.send(true);
            tokio::time::sleep(drain).await;
        };
        let deadline = async move {
            let _ = draining.wait_for(|d| *d).await;
            tokio::time::sleep(drain + grace).await;
        };
        let metrics_apart = self.metrics_listener.is_some();
        if let Some(listener) = self.metrics_listener {
            let mut stopping = self.state.shutdown.subscribe();
            let until = async move {
                let _ = stopping.wait_for(|d| *d).await;
            };
            let metrics =
                axum::serve(listener, crate::http::metrics_router(self.state.clone())).with_graceful_shutdown(until);
            tokio::spawn(std::future::IntoFuture::into_future(metrics));
        }
        let app = router(self.state, !metrics_apart);
        let serving = axum::serve(self.listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(signal);
        let served = tokio::select! {
            served = std::future::IntoFuture::into_future(serving) => served,
            _ = deadline => {
                tracing::warn!(grace_secs = grace.as_secs(), "requests still in flight at the end of the grace period are cut");
                Ok(())
            }
        };
        // Give sockets a moment to send their close frames.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        while sockets.live() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        served
    }
}

fn jwt_verifier(s: &Settings) -> anyhow::Result<Option<JwtVerifier>> {
    let read = |p: &Option<std::path::PathBuf>| -> anyhow::Result<Option<String>> {
        p.as_ref().map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))).transpose()
    };
    let pem = read(&s.jwt_public_key_file)?;
    let jwks = read(&s.jwks_file)?;
    JwtVerifier::from_config(&JwtConfig {
        secret: s.jwt_secret.as_ref().map(crate::config::Secret::expose),
        public_key_pem: pem.as_deref(),
        jwks: jwks.as_deref(),
        algorithm: &s.jwt_algorithm,
        issuer: s.jwt_issuer.as_deref(),
        audience: s.jwt_audience.as_deref(),
    })
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
