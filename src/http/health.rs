//! Liveness, readiness and metrics endpoints.

use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;

/// Alive: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// Ready: not shutting down, and the database answers within a second (a
/// load balancer asks often; a dead database must not make it wait).
pub async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    if *s.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining");
    }
    match tokio::time::timeout(crate::db::ACQUIRE_TIMEOUT, s.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// The metrics, with the gauges read now.
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let live = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    s.metrics.set_live(
        live(s.sockets.live()),
        live(s.ws_operations.live()),
        live(s.store.events.subscribers() + s.fanout.shared_listeners()),
        live(s.fanout.executions()),
    );
    let (size, idle) = crate::db::pool_state(&s.db);
    s.metrics.set_pool(size - idle, idle);
    let (open, idle) = s.reads.pool_state();
    s.metrics.set_read_pool(open - idle, idle);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render())
}
