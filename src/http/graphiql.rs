//! GraphiQL at `/graphiql`, and its scripts and styles at
//! `/graphiql/assets/…`, embedded in the binary (fetched from the npm
//! registry at pinned versions by `build.rs`), so the page works where the
//! browser cannot reach a CDN.

use super::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response as HttpResponse};

/// GraphiQL whose Headers tab authenticates both HTTP and WebSocket.
const PAGE: &str = include_str!("graphiql_page.html");

macro_rules! asset {
    ($file:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/graphiql/", $file)).as_slice()
    };
}

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The assets by the name the page asks for: versioned, so they can be
/// cached for good.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("graphiql-3.9.0.min.js", JS, asset!("graphiql.min.js")),
    ("graphiql-3.9.0.min.css", CSS, asset!("graphiql.min.css")),
    ("react-18.3.1.production.min.js", JS, asset!("react.production.min.js")),
    ("react-dom-18.3.1.production.min.js", JS, asset!("react-dom.production.min.js")),
];

/// GraphiQL, pointed at this server (queries and subscriptions).
pub async fn page(State(s): State<AppState>) -> HttpResponse {
    if !s.graphiql {
        return StatusCode::NOT_FOUND.into_response();
    }
    Html(PAGE).into_response()
}

/// One of GraphiQL's scripts or styles.
pub async fn asset(State(s): State<AppState>, Path(name): Path<String>) -> HttpResponse {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) if s.graphiql => {
            let headers =
                [(header::CONTENT_TYPE, *kind), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")];
            (headers, *body).into_response()
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}
