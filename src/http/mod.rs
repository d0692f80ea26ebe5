//! HTTP: the router and its handlers.

pub mod admission;
pub mod export;
pub mod graphiql;
pub mod graphql;
pub mod health;
pub mod origin;
pub mod persisted;
pub mod sockets;
pub mod ws;
pub mod ws_fanout;
pub mod ws_outbox;

use crate::auth::rate_limit::RateLimiter;
use crate::auth::Authenticator;
use crate::graphql::AppSchema;
use crate::metrics::Metrics;
use crate::pricing::Quotes;
use crate::service::store::Store;
use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::routing::get;
use axum::Router;
use sea_orm::DatabaseConnection;
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The executable schema.
    pub schema: AppSchema,
    /// The write side: pool, events, policy.
    pub store: Store,
    /// The database pool (the primary).
    pub db: DatabaseConnection,
    /// Where queries read: a replica while it keeps up, else the primary.
    pub reads: crate::replica::ReadRouting,
    /// Process counters.
    pub metrics: Metrics,
    /// Turns credentials into callers.
    pub auth: Authenticator,
    /// Requests per credential.
    pub limiter: RateLimiter,
    /// Requests running at once per organization.
    pub tenants: crate::tenant_slots::TenantSlots,
    /// Documents weighed before they run (`graphql::weights`).
    pub weights: crate::graphql::weights::Weights,
    /// What a document's weight decides (`admission`).
    pub admission: admission::Admission,
    /// The USD quote service.
    pub quotes: Quotes,
    /// DataLoader batching delay.
    pub loader_delay: Duration,
    /// Whether /graphiql is served.
    pub graphiql: bool,
    /// Automatic persisted queries.
    pub persisted: persisted::PersistedQueries,
    /// Documents parsed once per text, within the query length, alias and
    /// root-field limits.
    pub documents: crate::graphql::documents::Documents,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest a request may run.
    pub request_timeout: Duration,
    /// Which pages may reach the gateway (CORS, WebSocket, `--dev`).
    pub origins: origin::Origins,
    /// WebSocket limits and timers.
    pub ws: ws::WsConfig,
    /// Set to true when the server shuts down; sockets close with 1001.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// Live sockets.
    pub sockets: sockets::SocketCounter,
    /// Sockets per credential.
    pub ws_credentials: sockets::CredentialSockets,
    /// Live subscriptions (and single-result operations) over WebSocket.
    pub ws_operations: sockets::SocketCounter,
    /// Subscription executions shared by their subscribers.
    pub fanout: ws_fanout::Hub,
    /// Revoked API keys, for the sockets that presented them.
    pub revocations: crate::auth::revocations::Revocations,
}

/// `/metrics` alone, for `METRICS_BIND`.
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(health::metrics)).with_state(state)
}

/// The gateway's routes; `/metrics` among them unless it is served apart.
pub fn router(state: AppState, with_metrics: bool) -> Router {
    // `*`: any origin (credentials travel in headers, never cookies).
    let cors_origins = &state.origins.cors;
    let allowed = if cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(cors_origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let cors = CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("x-api-key"),
        ])
        .max_age(std::time::Duration::from_secs(600));
    let max_body = state.max_body_bytes;
    let origins = state.origins.clone();
    let routes = Router::new();
    let routes = if with_metrics { routes.route("/metrics", get(health::metrics)) } else { routes };
    routes
        .route("/graphql", get(graphql::get_or_upgrade).post(graphql::post_handler))
        .route("/graphiql", get(graphiql::page))
        .route("/graphiql/assets/{name}", get(graphiql::asset))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/export/accounts", get(export::accounts))
        // axum's own 2 MiB default would otherwise apply to the body
        // extractors, whatever MAX_BODY_BYTES says.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(cors)
        .layer(axum::middleware::from_fn_with_state(origins, origin::dev_guard))
        .with_state(state)
}
