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

/// Prometheus counters, and the WebSocket gauges.
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut body = s.metrics.render();
    for (name, help, value) in [
        ("gateway_ws_sockets", "open WebSockets", s.sockets.live()),
        ("gateway_ws_operations", "live operations (subscriptions) over WebSocket", s.ws_operations.live()),
        (
            "gateway_event_subscribers",
            "subscriptions listening for events on this replica",
            s.store.events.subscribers(),
        ),
    ] {
        body.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}
