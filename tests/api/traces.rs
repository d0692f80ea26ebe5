//! Traces over OTLP: the real binary, pointed by the standard variables at
//! an OTLP/HTTP receiver this test runs, exports a span per request (a
//! child of the caller's `traceparent`), per DataLoader batch and per SQL
//! statement, passes the trace on to the quote API, and sends what it
//! still holds when it is stopped.

use crate::quote_server::QuoteServer;
use crate::services::{free_port, wait_until};
use crate::ws_client::{Got, Ws};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The caller's trace: the gateway's request span must join it.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
/// The trace of a WebSocket client's upgrade request.
const WS_TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const WS_CALLER_SPAN: &str = "b7ad6b7169203331";

const QUERY: &str = r#"query TracedAccount {
  accountByExternalId(externalId: "acc-john-crypto") {
    name
    assets { currency { code } }
    balance { total }
  }
}"#;

/// An OTLP/HTTP receiver (JSON encoding) that keeps every span it gets.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Value>>>,
    resources: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let keep = receiver.clone();
        let app = Router::new().route(
            "/v1/traces",
            post(move |Json(body): Json<Value>| {
                let keep = keep.clone();
                async move {
                    for rs in body["resourceSpans"].as_array().into_iter().flatten() {
                        keep.resources.lock().unwrap().push(rs["resource"].clone());
                        for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                            keep.spans.lock().unwrap().extend(ss["spans"].as_array().into_iter().flatten().cloned());
                        }
                    }
                    Json(json!({}))
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn spans(&self) -> Vec<Value> {
        self.spans.lock().unwrap().clone()
    }
}

/// A span attribute's string value.
fn attr(span: &Value, key: &str) -> Option<String> {
    let attrs = span["attributes"].as_array()?;
    let found = attrs.iter().find(|a| a["key"] == key)?;
    found["value"]["stringValue"].as_str().map(str::to_owned)
}

struct Gateway {
    child: Child,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary exporting to `otlp`; spans wait in its buffer until
/// it stops (a schedule delay of a minute), so their arrival shows the
/// flush at shutdown.
async fn start(otlp: &str, quotes: &QuoteServer, env: &[(&str, &str)]) -> Gateway {
    let dir = std::env::temp_dir();
    let id = uuid::Uuid::new_v4().simple();
    let db = format!("sqlite://{}/ag-test-{id}.db?mode=rwc", dir.display());
    let log = dir.join(format!("ag-quiet-{id}.log"));
    let port = free_port();
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_accounts-gateway"))
        .args(["--database-url", &db, "--bind", &format!("127.0.0.1:{port}")])
        .args(quotes.flags(60))
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_BSP_SCHEDULE_DELAY", "60000")
        .env_remove("OTEL_SERVICE_NAME")
        // Quotes another test left in a shared Redis would spare the call
        // to the quote API this test follows.
        .env_remove("REDIS_URL")
        .env_remove("REDIS_CLUSTER_URLS")
        .envs(env.iter().copied())
        .stdout(Stdio::from(file.try_clone().expect("log file")))
        .stderr(file)
        .spawn()
        .expect("the gateway starts");
    let gw = Gateway { child, base: format!("http://127.0.0.1:{port}"), log };
    let ready = format!("{}/readyz", gw.base);
    wait_until("the gateway to be ready", Duration::from_secs(30), || {
        let ready = ready.clone();
        async move { reqwest::get(&ready).await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    gw
}

/// SIGTERM: the gateway drains, then flushes its spans before it exits.
async fn stop(gw: &mut Gateway) {
    let pid = gw.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill").success());
    wait_until("the gateway to exit", Duration::from_secs(30), || {
        let exited = gw.child.try_wait().ok().flatten().is_some();
        async move { exited }
    })
    .await;
}

/// [`QUERY`] within the caller's trace; its answer, which has no errors.
async fn traced_query(gw: &Gateway, key: &str) -> Value {
    let answer = reqwest::Client::new()
        .post(format!("{}/graphql", gw.base))
        .header("x-api-key", key)
        .header("traceparent", format!("00-{TRACE_ID}-{CALLER_SPAN}-01"))
        .json(&json!({ "query": QUERY }))
        .send()
        .await
        .expect("answered")
        .json::<Value>()
        .await
        .expect("json");
    assert!(answer["errors"].is_null(), "{answer}");
    answer
}

fn admin_key(gw: &Gateway) -> String {
    let log = std::fs::read_to_string(&gw.log).unwrap_or_default();
    let at = log.find("agk_").expect("the first start prints an admin key");
    log[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_loader_batches_and_statements_are_spans_of_the_callers_trace() {
    let (receiver, otlp) = Receiver::start().await;
    let quotes = QuoteServer::start().await;
    let mut gw = start(&otlp, &quotes, &[]).await;
    let http = reqwest::Client::new();
    let key = admin_key(&gw);

    let traced = traced_query(&gw, &key).await;
    assert!(traced["data"]["accountByExternalId"]["balance"]["total"].is_string(), "{traced}");
    // A refused request is a span too, with its outcome.
    let refused = http.post(format!("{}/graphql", gw.base)).json(&json!({ "query": "{ accounts { totalCount } }" }));
    assert_eq!(refused.send().await.expect("answered").status(), 401);

    // An operation over a WebSocket joins the trace of the upgrade request.
    let upgrade_parent = format!("00-{WS_TRACE_ID}-{WS_CALLER_SPAN}-01");
    let mut ws = Ws::open_with(&gw.base, "graphql-transport-ws", &[("traceparent", &upgrade_parent)]).await;
    ws.send(json!({"type": "connection_init", "payload": {"x-api-key": key}})).await;
    match ws.next(Duration::from_secs(10)).await {
        Got::Json(v) => assert_eq!(v["type"], "connection_ack", "{v}"),
        other => panic!("no ack: {other:?}"),
    }
    let over_ws = r#"query OverSocket { accountByExternalId(externalId: "acc-ana-main") { name owner { name } } }"#;
    ws.subscribe("1", over_ws, json!({})).await;
    let answer = ws.event().await;
    assert!(answer["data"]["accountByExternalId"]["name"].is_string(), "{answer}");
    drop(ws);

    // The quote API was asked within the caller's trace.
    let sent = quotes.traceparents();
    assert!(!sent.is_empty(), "no traceparent reached the quote API");
    assert!(sent.iter().all(|t| t.starts_with(&format!("00-{TRACE_ID}-"))), "{sent:?}");
    assert!(receiver.spans().is_empty(), "spans wait in the buffer until shutdown");

    stop(&mut gw).await;
    let spans = receiver.spans();

    let resources = receiver.resources.lock().unwrap().clone();
    let service = resources.iter().find_map(|r| attr(r, "service.name"));
    assert_eq!(service.as_deref(), Some("accounts-gateway"));

    let ours: Vec<&Value> = spans.iter().filter(|s| s["traceId"] == TRACE_ID).collect();
    let request = ours.iter().find(|s| s["name"] == "query TracedAccount").expect("the request's span");
    assert_eq!(request["parentSpanId"], CALLER_SPAN, "a child of the caller's span");
    assert_eq!(attr(request, "graphql.operation.name").as_deref(), Some("TracedAccount"));
    assert_eq!(attr(request, "graphql.operation.type").as_deref(), Some("query"));
    assert_eq!(attr(request, "outcome").as_deref(), Some("ok"));
    assert!(attr(request, "organization").is_some_and(|o| uuid::Uuid::parse_str(&o).is_ok()), "{request}");
    let request_id = request["spanId"].as_str().expect("span id");

    let batches: Vec<&&Value> =
        ours.iter().filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with("load "))).collect();
    assert!(!batches.is_empty(), "no DataLoader batch span in {ours:#?}");
    assert!(batches.iter().all(|b| b["parentSpanId"] == request_id), "batches are children of the request");
    let in_request: Vec<&str> =
        std::iter::once(request_id).chain(batches.iter().filter_map(|b| b["spanId"].as_str())).collect();
    let statements: Vec<&&Value> = ours.iter().filter(|s| attr(s, "db.system.name").is_some()).collect();
    assert!(!statements.is_empty(), "no SQL statement span in {ours:#?}");
    for s in &statements {
        assert!(in_request.iter().any(|id| s["parentSpanId"] == *id), "a statement outside the request: {s}");
        assert_eq!(attr(s, "db.system.name").as_deref(), Some("sqlite"));
        let text = attr(s, "db.query.text").unwrap_or_default();
        assert!(text.starts_with("SELECT") || text.starts_with("select"), "{text}");
        assert!(!text.contains("acc-john-crypto"), "statement text carries no values: {text}");
    }

    let socket_op = spans.iter().find(|s| s["name"] == "query OverSocket").expect("the WebSocket operation's span");
    assert_eq!((&socket_op["traceId"], &socket_op["parentSpanId"]), (&json!(WS_TRACE_ID), &json!(WS_CALLER_SPAN)));
    assert_eq!(attr(socket_op, "outcome").as_deref(), Some("ok"));
    let socket_op_id = &socket_op["spanId"];
    assert!(
        spans
            .iter()
            .any(|s| &s["parentSpanId"] == socket_op_id && s["name"].as_str().is_some_and(|n| n.starts_with("load "))),
        "the operation's loader batches are its children"
    );

    // The refused request: a span of its own trace, with its error code.
    let refusal = spans.iter().find(|s| attr(s, "outcome").as_deref() == Some("error")).expect("the refused request");
    assert_eq!(attr(refusal, "error.codes").as_deref(), Some("UNAUTHENTICATED"));
    assert_ne!(refusal["traceId"], TRACE_ID);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_switch_turns_traces_off() {
    let (receiver, otlp) = Receiver::start().await;
    let quotes = QuoteServer::start().await;
    let mut gw = start(&otlp, &quotes, &[("OTEL_SDK_DISABLED", "true")]).await;
    let key = admin_key(&gw);
    traced_query(&gw, &key).await;
    assert!(quotes.calls() > 0, "the request reached the quote API");
    assert!(quotes.traceparents().is_empty(), "no trace passed on: {:?}", quotes.traceparents());
    stop(&mut gw).await;
    assert!(gw.child.try_wait().ok().flatten().is_some_and(|s| s.success()), "a clean exit");
    assert!(receiver.spans().is_empty(), "nothing exported");
}
