//! A quote API the tests run themselves: counts calls and can be told to
//! slow down, fail or answer garbage.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the server answers.
#[derive(Clone, Debug)]
pub enum Mode {
    Ok,
    Fail,
    Slow(Duration),
    Body(Value),
}

#[derive(Clone)]
pub struct QuoteServer {
    pub url: String,
    calls: Arc<AtomicU64>,
    mode: Arc<Mutex<Mode>>,
    /// The `traceparent` header of each call that had one.
    traceparents: Arc<Mutex<Vec<String>>>,
}

const RATES: &[(&str, &str)] =
    &[("EUR", "1.08"), ("BRL", "0.19"), ("BTC", "67000.50"), ("ETH", "3456.78"), ("USDC", "0.9998")];

async fn answer(
    State(s): State<QuoteServer>,
    headers: axum::http::HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, axum::http::StatusCode> {
    s.calls.fetch_add(1, Ordering::SeqCst);
    if let Some(parent) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        s.traceparents.lock().unwrap().push(parent.to_owned());
    }
    let mode = s.mode.lock().unwrap().clone();
    match mode {
        Mode::Fail => return Err(axum::http::StatusCode::SERVICE_UNAVAILABLE),
        Mode::Body(v) => return Ok(Json(v)),
        Mode::Slow(d) => tokio::time::sleep(d).await,
        Mode::Ok => {}
    }
    let wanted: Vec<String> = q.get("symbols").map(|s| s.split(',').map(str::to_owned).collect()).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for (code, rate) in RATES {
        if wanted.iter().any(|w| w == code) {
            out.insert((*code).to_owned(), json!(rate));
        }
    }
    Ok(Json(Value::Object(out)))
}

impl QuoteServer {
    pub async fn start() -> QuoteServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let s = QuoteServer {
            url,
            calls: Arc::new(AtomicU64::new(0)),
            mode: Arc::new(Mutex::new(Mode::Ok)),
            traceparents: Arc::default(),
        };
        let app = Router::new().route("/", get(answer)).with_state(s.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        s
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// The `traceparent` headers the gateway sent, in order.
    pub fn traceparents(&self) -> Vec<String> {
        self.traceparents.lock().unwrap().clone()
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Gateway flags that use this server as the price source.
    pub fn flags(&self, fresh_secs: u64) -> Vec<String> {
        vec![
            "--quote-source".into(),
            "http".into(),
            "--quote-api-url".into(),
            self.url.clone(),
            "--quote-fresh-secs".into(),
            fresh_secs.to_string(),
            "--quote-retries".into(),
            "0".into(),
            "--quote-timeout-ms".into(),
            "1000".into(),
        ]
    }
}
