//! `GET /export/accounts?format=csv|jsonl&filter=<AccountFilter as JSON>`:
//! the caller's organization's accounts, streamed as they are read. The
//! credential, tenancy and rate limit are those of `/graphql`.

use super::AppState;
use crate::error::AppError;
use crate::service::export::{self, Format};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};

/// The query string.
#[derive(Deserialize)]
pub struct Params {
    /// `csv` or `jsonl` (the default).
    format: Option<String>,
    /// An `AccountFilter`, as JSON.
    filter: Option<String>,
}

fn refuse(status: StatusCode, e: &AppError) -> Response {
    let mut resp = (status, axum::Json(serde_json::json!({ "errors": [e.to_graphql_json()] }))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

/// Streams the export. A failure after the first bytes cuts the stream
/// (the client sees an aborted transfer, never a clean but short file).
pub async fn accounts(State(s): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, _) = req.into_parts();
    let principal = match super::graphql::authenticate(&s, &parts).await {
        Ok(p) => p,
        Err(e @ AppError::LimitExceeded(_)) => return refuse(StatusCode::TOO_MANY_REQUESTS, &e),
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, &e),
    };
    let Ok(Query(p)) = Query::<Params>::try_from_uri(&parts.uri) else {
        return refuse(StatusCode::BAD_REQUEST, &AppError::invalid("query", "format and filter are the parameters"));
    };
    if !s.limiter.allow(&principal.limit_key()).await {
        s.metrics.rate_limited();
        let e = AppError::LimitExceeded("too many requests for this credential; slow down".into());
        return refuse(StatusCode::TOO_MANY_REQUESTS, &e);
    }
    let Some(format) = Format::parse(p.format.as_deref().unwrap_or("jsonl")) else {
        return refuse(StatusCode::BAD_REQUEST, &AppError::invalid("format", "csv or jsonl"));
    };
    let query = match crate::graphql::filters::account_query_from_json(p.filter.as_deref()) {
        Ok(q) => q,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &e),
    };
    // An export counts as one of its organization's running requests for
    // as long as it streams.
    let slot = match s.tenants.enter(principal.organization_id).await {
        Ok(slot) => slot,
        Err(e) => return refuse(StatusCode::TOO_MANY_REQUESTS, &e),
    };
    let (tx, rx) = mpsc::channel::<Vec<u8>>(4);
    let (done_tx, done_rx) = oneshot::channel::<bool>();
    let (db, org) = (s.db.clone(), principal.organization_id);
    tokio::spawn(async move {
        let _slot = slot;
        let outcome = export::export(&db, org, &query, format, tx, &|_, _| {}).await;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "export failed part way");
        }
        let _ = done_tx.send(outcome.is_ok());
    });
    let chunks = futures_util::stream::unfold((rx, Some(done_rx)), |(mut rx, done)| async move {
        if let Some(chunk) = rx.recv().await {
            return Some((Ok(Bytes::from(chunk)), (rx, done)));
        }
        // The channel closed: the export ended; fail the body if it failed.
        match done?.await {
            Ok(true) => None,
            _ => Some((Err(std::io::Error::other("the export failed part way")), (rx, None))),
        }
    });
    let name = match format {
        Format::Csv => "attachment; filename=\"accounts.csv\"",
        Format::Jsonl => "attachment; filename=\"accounts.jsonl\"",
    };
    let mut resp = Body::from_stream(chunks).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    resp.headers_mut().insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(name));
    resp
}
