//! Shutdown with a deadline: once the server stops accepting, requests in
//! flight finish within `--shutdown-grace-secs`; what runs past it is cut.
//! A slow quote source keeps a request in flight for as long as needed.

use crate::helpers::test_clock;
use crate::quote_server::{Mode, QuoteServer};
use crate::services::wait_until;
use accounts_gateway::app::Application;
use accounts_gateway::config::Cli;
use clap::Parser;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Values an account in USD: with no quote cached, it waits for the source.
const SLOW: &str = r#"{ accountByExternalId(externalId: "acc-john-crypto") { balance { total } } }"#;

struct Running {
    base: String,
    http: reqwest::Client,
    stop: oneshot::Sender<()>,
    done: JoinHandle<std::io::Result<()>>,
}

async fn start(server: &QuoteServer, grace: &str) -> Running {
    start_with(server, grace, &[]).await
}

async fn start_with(server: &QuoteServer, grace: &str, extra: &[&str]) -> Running {
    let db = std::env::temp_dir().join(format!("ag-test-{}.db", uuid::Uuid::new_v4().simple()));
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let prefix = format!("t{}:", uuid::Uuid::new_v4().simple());
    let mut args = vec![
        "accounts-gateway",
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--redis-prefix",
        &prefix,
        "--rate-limit-per-second",
        "0",
        "--quote-source",
        "http",
        "--quote-api-url",
        &server.url,
        "--quote-retries",
        "0",
        "--quote-timeout-ms",
        "600000",
        "--shutdown-grace-secs",
        grace,
    ];
    args.extend_from_slice(extra);
    let cli = Cli::parse_from(args);
    let app = Application::build_with_clock(&cli.settings, test_clock()).await.expect("gateway starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let mut headers = reqwest::header::HeaderMap::new();
    let key = app.initial_admin_key().expect("a new database prints an admin key");
    headers.insert("x-api-key", key.parse().expect("header value"));
    let http = reqwest::Client::builder().default_headers(headers).build().expect("client");
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Running { base, http, stop, done }
}

/// Sends the slow query; the task ends with its answer.
fn in_flight(r: &Running) -> JoinHandle<Result<Value, reqwest::Error>> {
    let (http, url) = (r.http.clone(), format!("{}/graphql", r.base));
    tokio::spawn(async move { http.post(url).json(&json!({"query": SLOW})).send().await?.json::<Value>().await })
}

/// Waits until the quote source has been asked: the request is in flight.
async fn until_called(server: &QuoteServer) {
    wait_until("the request reaches the quote source", Duration::from_secs(30), || async { server.calls() > 0 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_finish_before_the_server_stops() {
    let server = QuoteServer::start().await;
    server.set(Mode::Slow(Duration::from_millis(800)));
    let r = start(&server, "600").await;
    let request = in_flight(&r);
    until_called(&server).await;
    r.stop.send(()).unwrap();
    // Draining: no new connection is accepted.
    let healthz = format!("{}/healthz", r.base);
    wait_until("the listener closes", Duration::from_secs(30), || async { reqwest::get(&healthz).await.is_err() })
        .await;
    let body = request.await.unwrap().expect("the request in flight is answered");
    assert!(body["data"]["accountByExternalId"]["balance"]["total"].is_string(), "{body}");
    // The server stopped once that request was done, long before its grace.
    r.done.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_runs_past_the_grace_period_is_cut() {
    let server = QuoteServer::start().await;
    server.set(Mode::Slow(Duration::from_secs(600)));
    let r = start(&server, "1").await;
    let request = in_flight(&r);
    until_called(&server).await;
    r.stop.send(()).unwrap();
    // The server returns at the end of its grace period, while the request
    // still waits on a source that answers in ten minutes.
    r.done.await.unwrap().unwrap();
    assert!(!request.is_finished(), "the server did not wait for the request past its grace period");
    request.abort();
}

/// With `--shutdown-drain-secs`, a stopping server keeps taking new
/// connections for that long, answering `/readyz` with 503 (so a load
/// balancer sees it leave) and still serving requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_server_says_so_on_readyz_and_still_serves() {
    let server = QuoteServer::start().await;
    let r = start_with(&server, "600", &["--shutdown-drain-secs", "600"]).await;
    // A fresh connection for every request: what a load balancer's probe is.
    let fresh = || reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    let ready =
        |http: reqwest::Client, url: String| async move { http.get(url).send().await.map(|r| r.status().as_u16()) };
    let readyz = format!("{}/readyz", r.base);
    assert_eq!(ready(fresh(), readyz.clone()).await.ok(), Some(200));
    let _ = r.stop.send(());
    wait_until("/readyz answers 503 on a new connection", Duration::from_secs(30), || {
        let (http, url) = (fresh(), readyz.clone());
        async move { ready(http, url).await.ok() == Some(503) }
    })
    .await;
    let answer: Value = r
        .http
        .post(format!("{}/graphql", r.base))
        .json(&json!({"query": "{ viewer { role } }"}))
        .send()
        .await
        .expect("still accepting")
        .json()
        .await
        .expect("an answer");
    assert_eq!(answer["data"]["viewer"]["role"], "ADMIN", "{answer}");
    r.done.abort();
}
