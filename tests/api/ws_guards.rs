//! WebSockets under the same guards as HTTP: a revoked key's sockets are
//! closed on every replica, operations count against the rate limit and in
//! the metrics, and a peer that stops answering pings is closed.

use crate::helpers::TestApp;
use crate::services::wait_until;
use crate::ws_client::{Got, Ws};
use accounts_gateway::domain::Role;
use accounts_gateway::service::api_keys;
use serde_json::json;
use std::time::Duration;

const T: &str = "graphql-transport-ws";
const STATUS_SUB: &str = "subscription { accountStatusChanged { status } }";

/// The `api-key revoke` command, run as an operator would: another process.
fn revoke_with_the_cli(db_url: &str, id: &str) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-gateway"))
        .args(["api-key", "revoke", id, "--database-url", db_url])
        .output()
        .expect("the command runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

async fn revoking_a_key_closes_its_sockets_on_every_replica(app: TestApp) {
    let replica = app.sibling(&[]).await;
    let (row, doomed) = api_keys::create(&app.db, "demo", Role::Viewer, "doomed").await.unwrap();
    let mut here = Ws::ready(&app.base, T, &doomed).await;
    let mut there = Ws::ready(&replica.base, T, &doomed).await;
    here.subscribe("1", STATUS_SUB, json!({})).await;
    there.subscribe("1", STATUS_SUB, json!({})).await;
    let mut bystander = Ws::ready(&replica.base, T, &app.key).await;
    revoke_with_the_cli(&app.db_url, &row.id.to_string());
    for ws in [&mut here, &mut there] {
        let (code, reason) = ws.close().await;
        assert_eq!(code, 4403, "{reason}");
        assert!(reason.contains("revoked"), "{reason}");
    }
    bystander.send(json!({"type": "ping"})).await;
    match bystander.next(Duration::from_secs(5)).await {
        Got::Json(v) => assert_eq!(v["type"], "pong", "other keys' sockets stay open: {v}"),
        other => panic!("other keys' sockets stay open: {other:?}"),
    }
    let mut again = Ws::open(&app.base, T).await;
    again.send(json!({"type": "connection_init", "payload": {"x-api-key": doomed}})).await;
    assert_eq!(again.close_code().await, 4403, "and the key opens no new one");
}

crate::backend_tests!(revoking_a_key_closes_its_sockets_on_every_replica);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_operations_count_against_the_rate_limit_and_in_metrics() {
    let flags = ["--rate-limit-per-second", "1", "--rate-limit-burst", "2"];
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &flags).await.unwrap();
    let before = app.metric("gateway_graphql_requests_total").await;
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    for i in 0..6 {
        ws.subscribe(&format!("q{i}"), "{ viewer { role } }", json!({})).await;
    }
    let (mut answered, mut limited) = (0, 0);
    while answered + limited < 6 {
        match ws.next(Duration::from_secs(5)).await {
            Got::Json(v) if v["type"] == "next" => answered += 1,
            Got::Json(v) if v["type"] == "error" => {
                assert_eq!(v["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{v}");
                limited += 1;
            }
            Got::Json(v) if v["type"] == "complete" => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(limited >= 1, "a burst of 6 over a limit of 2 is refused in part ({answered} answered)");
    assert_eq!(app.metric("gateway_graphql_requests_total").await - before, 6, "every operation is counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_misses_a_pong_is_closed() {
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &["--ws-keepalive-secs", "1"]).await.unwrap();
    // Never read again: tungstenite answers pings only while it reads, so
    // this is what a vanished peer looks like from the server.
    let _silent = Ws::ready(&app.base, T, &app.key).await;
    let mut alive = Ws::ready(&app.base, T, &app.key).await;
    let reader = tokio::spawn(async move {
        loop {
            if let Got::Closed(code, reason) = alive.next(Duration::from_secs(60)).await {
                return (code, reason);
            }
        }
    });
    assert_eq!(app.metric("gateway_ws_sockets").await, 2);
    wait_until("the silent peer to be closed", Duration::from_secs(20), || async {
        app.metric("gateway_ws_sockets").await == 1
    })
    .await;
    if reader.is_finished() {
        panic!("a peer that answers stays open, but it was closed: {:?}", reader.await);
    }
    reader.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_origins_can_be_restricted() {
    let app =
        TestApp::spawn_with(crate::helpers::Backend::Sqlite, &["--ws-origins", "https://app.example"]).await.unwrap();
    let upgrade = |origin: &str| {
        let url = format!("{}/graphql", app.base.replacen("http://", "ws://", 1));
        let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", T.parse().unwrap());
        req.headers_mut().insert("Origin", origin.parse().unwrap());
        tokio_tungstenite::connect_async(req)
    };
    match upgrade("http://evil.example").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 403),
        other => panic!("the upgrade was not refused: {:?}", other.map(|_| ())),
    }
    assert!(upgrade("https://app.example").await.is_ok(), "a listed page opens its socket");
    // No Origin: not a browser page (a service, a CLI); credentials decide.
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role } }"}})).await;
    match ws.next(Duration::from_secs(5)).await {
        Got::Json(v) => assert_eq!(v["payload"]["data"]["viewer"]["role"], "ADMIN", "{v}"),
        other => panic!("{other:?}"),
    }
}

/// An operation sent after the revocation committed is refused at once,
/// before any watcher has told the socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_after_a_revocation_is_refused() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await.unwrap();
    let (row, doomed) = api_keys::create(&app.db, "demo", Role::Viewer, "doomed-op").await.unwrap();
    let mut ws = Ws::ready(&app.base, T, &doomed).await;
    api_keys::revoke(&app.db, &row.id.to_string()).await.unwrap();
    ws.send(json!({"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { role } }"}})).await;
    match ws.next(Duration::from_secs(5)).await {
        Got::Closed(code, reason) => assert_eq!(code, 4403, "{reason}"),
        other => panic!("the query ran on a revoked key: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_small_before_the_ack_and_bounded_after() {
    let app =
        TestApp::spawn_with(crate::helpers::Backend::Sqlite, &["--ws-max-message-bytes", "200000"]).await.unwrap();
    let mut early = Ws::open(&app.base, T).await;
    let padded = json!({"type": "connection_init", "payload": {"x-api-key": app.key, "pad": "x".repeat(100_000)}});
    early.send(padded).await;
    assert_eq!(early.close_code().await, 4400, "only a small connection_init before the ack");
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    let query = format!("{{ viewer {{ role }} }} # {}", "x".repeat(150_000));
    ws.send(json!({"id": "ok", "type": "subscribe", "payload": {"query": query}})).await;
    match ws.next(Duration::from_secs(5)).await {
        Got::Json(v) => assert_eq!(v["type"], "error", "a long document is refused by its length: {v}"),
        other => panic!("{other:?}"),
    }
    let too_big = format!("{{ viewer {{ role }} }} # {}", "x".repeat(250_000));
    ws.send(json!({"id": "big", "type": "subscribe", "payload": {"query": too_big}})).await;
    assert_eq!(ws.close_code().await, 1009, "past the message limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_over_a_socket_has_the_request_time_limit() {
    let server = crate::quote_server::QuoteServer::start().await;
    server.set(crate::quote_server::Mode::Slow(Duration::from_secs(5)));
    let mut flags = server.flags(60);
    flags.extend(["--request-timeout-ms".into(), "300".into()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &flags).await.unwrap();
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    let query = r#"{ quotes(currencies: ["BTC"]) { usdRate } }"#;
    ws.send(json!({"id": "slow", "type": "subscribe", "payload": {"query": query}})).await;
    match ws.next(Duration::from_secs(4)).await {
        Got::Json(v) => {
            assert_eq!(v["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{v}");
        }
        other => panic!("{other:?}"),
    }
}

/// A client that stops reading is let go: once its queue has stayed full
/// past `WS_SLOW_CONSUMER_MS` its socket, slot and subscriptions are
/// released while it still reads nothing, and other subscribers keep
/// getting every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_let_go() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let flags = ["--ws-outbox-bytes", "16384", "--ws-slow-consumer-ms", "300", "--ws-keepalive-secs", "600"];
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &flags).await.unwrap();
    let account = app.account_id("acc-ana-main").await;
    let asset = app.data("query($id: UUID!) { account(id: $id) { assets { id } } }", json!({"id": account})).await
        ["account"]["assets"][0]["id"]
        .clone();
    let heavy = "subscription($a: UUID) { balanceChanged(accountId: $a) { at balance { available }
        account { name assets { journal(first: 50) { nodes { id at actor cause idempotencyKey } } } } } }";
    // A tiny receive window, so the server's writes back up after a few KiB.
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(2048).unwrap();
    let stream = tcp.connect(addr).await.unwrap();
    let mut req = format!("ws://{addr}/graphql").into_client_request().unwrap();
    req.headers_mut().insert("Sec-WebSocket-Protocol", T.parse().unwrap());
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (socket, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    let mut stuck = Ws { socket };
    stuck.send(json!({"type": "connection_init", "payload": {"x-api-key": app.key}})).await;
    assert!(matches!(stuck.next(Duration::from_secs(5)).await, Got::Json(v) if v["type"] == "connection_ack"));
    stuck.send(json!({"id": "s", "type": "subscribe", "payload": {"query": heavy, "variables": {"a": account}}})).await;
    // The reader shares the stuck one's execution: the stuck member must
    // not hold it back either.
    let mut reading = Ws::ready(&app.base, T, &app.key).await;
    reading.subscribe("r", heavy, json!({"a": account})).await;
    wait_until("both subscriptions to be live", Duration::from_secs(10), || async {
        app.metric("gateway_ws_operations").await == 2
    })
    .await;
    assert_eq!(app.metric("gateway_ws_shared_executions").await, 1, "one execution for both");
    // From here the stuck client never reads again.
    let mut sent = 0;
    while app.metric("gateway_ws_sockets").await == 2 {
        assert!(sent < 2_000, "the stuck socket was never let go");
        let input = json!({"idempotencyKey": format!("slow-{sent}"), "available": "1"});
        app.data(crate::mutations_assets::ADJUST, json!({"a": asset, "i": input})).await;
        sent += 1;
    }
    assert_eq!(app.metric("gateway_ws_operations").await, 1, "its subscription went with it");
    for _ in 0..sent {
        assert!(matches!(reading.next(Duration::from_secs(10)).await, Got::Json(v) if v["type"] == "next"));
    }
    drop(stuck);
}

/// A key deleted outright, or revoked with a time far from this replica's
/// clock, closes the sockets that hold it all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_keys_and_revocations_off_the_clock_close_their_sockets() {
    let app = TestApp::spawn(crate::helpers::Backend::Sqlite).await.unwrap();
    let (deleted, deleted_key) = api_keys::create(&app.db, "demo", Role::Viewer, "deleted-later").await.unwrap();
    let (stamped, stamped_key) = api_keys::create(&app.db, "demo", Role::Viewer, "stamped-last-year").await.unwrap();
    let mut one = Ws::ready(&app.base, T, &deleted_key).await;
    let mut two = Ws::ready(&app.base, T, &stamped_key).await;
    one.subscribe("1", STATUS_SUB, json!({})).await;
    two.subscribe("1", STATUS_SUB, json!({})).await;
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    entity::api_key::Entity::delete_by_id(deleted.id).exec(&app.db).await.unwrap();
    let last_year = chrono::Utc::now() - chrono::Duration::days(365);
    let mut revoked: entity::api_key::ActiveModel = stamped.into();
    revoked.revoked_at = Set(Some(last_year));
    revoked.update(&app.db).await.unwrap();
    for ws in [&mut one, &mut two] {
        let (code, reason) = ws.close().await;
        assert_eq!(code, 4403, "{reason}");
    }
}
