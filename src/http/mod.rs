//! HTTP: the router and its handlers.

pub mod graphql;
pub mod health;

use crate::auth::Principal;
use crate::graphql::AppSchema;
use crate::metrics::Metrics;
use crate::pricing::Quotes;
use crate::service::store::Store;
use axum::routing::get;
use axum::Router;
use sea_orm::DatabaseConnection;
use std::time::Duration;
use tower_http::limit::RequestBodyLimitLayer;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The executable schema.
    pub schema: AppSchema,
    /// The write side: pool, events, policy.
    pub store: Store,
    /// The database pool.
    pub db: DatabaseConnection,
    /// Process counters.
    pub metrics: Metrics,
    /// Until credentials are checked, every request runs as this caller.
    pub principal: Principal,
    /// The USD quote service.
    pub quotes: Quotes,
    /// DataLoader batching delay.
    pub loader_delay: Duration,
    /// Whether /graphiql is served.
    pub graphiql: bool,
}

/// The gateway's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/graphql", get(graphql::get_handler).post(graphql::post_handler))
        .route("/graphiql", get(graphql::graphiql))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .with_state(state)
}
