//! Subscriptions over WebSocket, spoken to by a real client: events after
//! commit with nested data, filters, tenancy, both subprotocols, close
//! codes, expiry, lagging subscribers, shutdown, and two replicas.

use crate::helpers::{redis_flags, strs, Backend, TestApp};
use crate::ws_client::{Got, Ws};
use accounts_gateway::domain::{AccountStatus, Role};
use accounts_gateway::events::{DomainEvent, Sequenced};
use accounts_gateway::service::api_keys;
use serde_json::{json, Value};
use std::time::Duration;

const T: &str = "graphql-transport-ws";
pub const STATUS_SUB: &str = "subscription($a: UUID, $o: UUID) { accountStatusChanged(accountId: $a, ownerId: $o) { previousStatus status actor reason { code description } at account { id name status version owner { name } } } }";
pub const SET: &str = "mutation($id: UUID!, $s: AccountStatus!, $r: StatusReasonInput) { setAccountStatus(id: $id, status: $s, reason: $r) { status } }";
const QUIET: Duration = Duration::from_millis(400);

async fn status_events_filters_and_rollbacks(app: TestApp) {
    let mei = app.account_id("acc-mei-usdc").await;
    let ana = app.account_id("acc-ana-main").await;
    let mut by_account = Ws::ready(&app.base, T, &app.key).await;
    by_account.subscribe("1", STATUS_SUB, json!({"a": mei})).await;
    let mut by_owner = Ws::ready(&app.base, T, &app.key).await;
    by_owner.subscribe("1", STATUS_SUB, json!({"o": app.client_id("cli-ana").await})).await;
    let mut all = Ws::ready(&app.base, T, &app.key).await;
    all.subscribe("all", STATUS_SUB, json!({})).await;
    app.wait_subscribers(3).await;

    // Refused and rolled-back changes publish nothing.
    app.error(SET, json!({"id": mei, "s": "BLOCKED"})).await;
    app.error("mutation($id: UUID!) { deleteAccount(id: $id) { id } }", json!({"id": ana})).await;
    assert!(matches!(all.next(QUIET).await, Got::Nothing), "no event without a commit");

    app.data(SET, json!({"id": mei, "s": "ACTIVE", "r": {"code": "KYC", "description": "verified"}})).await;
    let e = by_account.event().await["data"]["accountStatusChanged"].clone();
    assert_eq!(e["previousStatus"], "PENDING");
    assert_eq!(e["status"], "ACTIVE");
    assert_eq!(e["actor"], "key:initial-admin");
    assert_eq!(e["reason"], json!({"code": "KYC", "description": "verified"}));
    assert_eq!(e["account"]["status"], "ACTIVE", "the nested account is read after the commit");
    assert_eq!(e["account"]["version"], 2);
    assert_eq!(e["account"]["owner"]["name"], "Mei Tanaka");
    assert_eq!(all.event().await["data"]["accountStatusChanged"]["account"]["name"], "Mei wallet");
    assert!(matches!(by_owner.next(QUIET).await, Got::Nothing), "Mei is not Ana");

    app.data(SET, json!({"id": ana, "s": "INACTIVE"})).await;
    let e = by_owner.event().await["data"]["accountStatusChanged"].clone();
    assert_eq!(e["account"]["name"], "Ana personal");
    assert!(matches!(by_account.next(QUIET).await, Got::Nothing), "another account");
    assert_eq!(all.event().await["data"]["accountStatusChanged"]["status"], "INACTIVE");

    // Completing a subscription stops it; the id can be used again.
    by_account.send(json!({"type": "complete", "id": "1"})).await;
    app.wait_subscribers(2).await;
    app.data(SET, json!({"id": mei, "s": "INACTIVE"})).await;
    assert!(matches!(by_account.next(QUIET).await, Got::Nothing));
    by_account.subscribe("1", STATUS_SUB, json!({"a": mei})).await;
    app.wait_subscribers(3).await;
    app.data(SET, json!({"id": mei, "s": "ACTIVE"})).await;
    assert_eq!(by_account.event().await["data"]["accountStatusChanged"]["status"], "ACTIVE");
}

/// John's active USD asset (at 0), and a socket listening to `query`
/// (a `balanceChanged` subscription on `$a`) for John's account.
async fn listening_to_johns_balance(app: &TestApp, query: &str) -> (Value, Ws) {
    let asset = crate::mutations_assets::active_asset(app, "acc-john-crypto", "USD", "0").await;
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.subscribe("b", query, json!({"a": app.account_id("acc-john-crypto").await})).await;
    app.wait_subscribers(1).await;
    (asset, ws)
}

async fn balance_events(app: TestApp) {
    let q = "subscription($a: UUID) { balanceChanged(accountId: $a) { at account { name } asset { currency { code } } balance { available total } } }";
    let (asset, mut ws) = listening_to_johns_balance(&app, q).await;
    app.data(crate::mutations_assets::ADJUST, json!({"a": asset, "i": {"idempotencyKey": "s1", "available": "12.34"}}))
        .await;
    let e = ws.event().await["data"]["balanceChanged"].clone();
    assert_eq!(e["account"]["name"], "John crypto");
    assert_eq!(e["asset"]["currency"]["code"], "USD");
    assert_eq!(e["balance"], json!({"available": "12.34", "total": "12.34"}));
    app.data(crate::mutations_assets::ADJUST, json!({"a": asset, "i": {"idempotencyKey": "s1", "available": "12.34"}}))
        .await;
    assert!(matches!(ws.next(QUIET).await, Got::Nothing), "a replay publishes nothing");
}

/// Each event carries the balance its own change left (its journal row's),
/// not the balance when it is delivered: five changes made before the
/// subscriber reads anything still arrive as five different balances, in
/// commit order.
async fn each_balance_event_carries_its_own_balance(app: TestApp) {
    let q = "subscription($a: UUID) { balanceChanged(accountId: $a) { balance { available } } }";
    let (asset, mut ws) = listening_to_johns_balance(&app, q).await;
    for i in 0..5 {
        let input = json!({"idempotencyKey": format!("burst-{i}"), "available": "1.00"});
        app.data(crate::mutations_assets::ADJUST, json!({"a": asset, "i": input})).await;
    }
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(ws.event().await["data"]["balanceChanged"]["balance"]["available"].clone());
    }
    assert_eq!(seen, [json!("1.00"), json!("2.00"), json!("3.00"), json!("4.00"), json!("5.00")]);
}

async fn other_organizations_never_hear(app: TestApp) {
    let (_, other) = api_keys::create(&app.db, "other", Role::Admin, "o").await.unwrap();
    let mei = app.account_id("acc-mei-usdc").await;
    let mut spy = Ws::ready(&app.base, T, &other).await;
    spy.subscribe("x", STATUS_SUB, json!({"a": mei})).await;
    let mut spy_all = Ws::ready(&app.base, T, &other).await;
    spy_all.subscribe("y", STATUS_SUB, json!({})).await;
    app.wait_subscribers(2).await;
    app.data(SET, json!({"id": mei, "s": "ACTIVE"})).await;
    assert!(matches!(spy.next(QUIET).await, Got::Nothing), "naming another tenant's account gets nothing");
    assert!(matches!(spy_all.next(QUIET).await, Got::Nothing));
}

crate::backend_tests!(
    status_events_filters_and_rollbacks,
    balance_events,
    each_balance_event_carries_its_own_balance,
    other_organizations_never_hear
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_codes() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--ws-init-timeout-ms", "300"]).await.unwrap();
    let mut ws = Ws::open(&app.base, T).await;
    assert_eq!(ws.close_code().await, 4408, "no connection_init in time");

    let mut ws = Ws::open(&app.base, T).await;
    ws.send(json!({"type": "connection_init", "payload": {"x-api-key": "agk_wrong"}})).await;
    assert_eq!(ws.close_code().await, 4403, "refused credential");

    let mut ws = Ws::open(&app.base, T).await;
    ws.send(json!({"type": "connection_init"})).await;
    assert_eq!(ws.close_code().await, 4403, "missing credential");

    let mut ws = Ws::open(&app.base, T).await;
    ws.subscribe("1", STATUS_SUB, json!({})).await;
    assert_eq!(ws.close_code().await, 4401, "subscribe before ack");

    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.send_raw("{not json").await;
    assert_eq!(ws.close_code().await, 4400);

    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.send(json!({"type": "no_such_type"})).await;
    assert_eq!(ws.close_code().await, 4400);

    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.send(json!({"type": "connection_init", "payload": {"x-api-key": app.key}})).await;
    assert_eq!(ws.close_code().await, 4429, "a second connection_init");

    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.subscribe("dup", STATUS_SUB, json!({})).await;
    ws.subscribe("dup", STATUS_SUB, json!({})).await;
    assert_eq!(ws.close().await, (4409, "Subscriber for dup already exists".to_owned()), "duplicate subscriber id");

    // Ids are at most 128 characters; 128 is fine.
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.subscribe(&"i".repeat(128), STATUS_SUB, json!({})).await;
    ws.subscribe(&"i".repeat(129), STATUS_SUB, json!({})).await;
    let (code, reason) = ws.close().await;
    assert_eq!((code, reason.contains("at most 128")), (4400, true), "{reason}");

    // Pings are answered; invalid operations get an `error` for their id.
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.send(json!({"type": "ping"})).await;
    match ws.next(Duration::from_secs(2)).await {
        Got::Json(v) => assert_eq!(v["type"], "pong"),
        other => panic!("{other:?}"),
    }
    ws.subscribe("bad", "subscription { nope }", json!({})).await;
    match ws.next(Duration::from_secs(2)).await {
        Got::Json(v) => assert_eq!((v["type"].as_str(), v["id"].as_str()), (Some("error"), Some("bad")), "{v}"),
        other => panic!("{other:?}"),
    }
    let mut deep = String::from("subscription { accountStatusChanged { account { ");
    deep.push_str(&"parent { ".repeat(20));
    deep.push_str("id");
    deep.push_str(&" }".repeat(23));
    ws.subscribe("deep", &deep, json!({})).await;
    match ws.next(Duration::from_secs(2)).await {
        Got::Json(v) => {
            assert_eq!(v["type"], "error", "{v}");
            assert_eq!(v["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "the same limits as HTTP: {v}");
        }
        other => panic!("{other:?}"),
    }
    let aliases: String = (0..60).map(|i| format!("a{i}: id ")).collect();
    let aliased = format!("subscription {{ accountStatusChanged {{ account {{ {aliases} }} }} }}");
    let long = format!("subscription {{ accountStatusChanged {{ status }} }} # {}", "x".repeat(30_000));
    for (id, query) in [("aliases", aliased), ("long", long)] {
        ws.subscribe(id, &query, json!({})).await;
        match ws.next(Duration::from_secs(2)).await {
            Got::Json(v) => {
                assert_eq!((v["type"].as_str(), v["id"].as_str()), (Some("error"), Some(id)), "{v}");
                assert_eq!(v["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED", "{id}: {v}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_per_socket_and_sockets_per_credential_are_capped() {
    let flags = ["--ws-max-subscriptions", "2", "--ws-max-sockets-per-credential", "2"];
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.subscribe("1", STATUS_SUB, json!({})).await;
    ws.subscribe("2", STATUS_SUB, json!({})).await;
    ws.subscribe("3", STATUS_SUB, json!({})).await;
    match ws.next(Duration::from_secs(2)).await {
        Got::Json(v) => {
            assert_eq!((v["type"].as_str(), v["id"].as_str()), (Some("error"), Some("3")), "{v}");
            assert_eq!(v["payload"][0]["extensions"]["code"], "LIMIT_EXCEEDED");
        }
        other => panic!("{other:?}"),
    }
    let second = Ws::ready(&app.base, T, &app.key).await;
    let mut third = Ws::open(&app.base, T).await;
    third.send(json!({"type": "connection_init", "payload": {"x-api-key": app.key}})).await;
    assert_eq!(third.close_code().await, 4403, "a third socket for one credential");
    drop(second);
    crate::services::wait_until("the dropped socket to be released", Duration::from_secs(10), || async {
        app.metric("gateway_ws_sockets").await == 1
    })
    .await;
    let _again = Ws::ready(&app.base, T, &app.key).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_graphql_ws_protocol() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut ws = Ws::ready(&app.base, "graphql-ws", &app.key).await;
    let mei = app.account_id("acc-mei-usdc").await;
    ws.send(json!({"type": "start", "id": "7", "payload": {"query": STATUS_SUB, "variables": {"a": mei}}})).await;
    app.wait_subscribers(1).await;
    app.data(SET, json!({"id": mei, "s": "ACTIVE"})).await;
    match ws.next(Duration::from_secs(5)).await {
        Got::Json(v) => {
            assert_eq!((v["type"].as_str(), v["id"].as_str()), (Some("data"), Some("7")));
            assert_eq!(v["payload"]["data"]["accountStatusChanged"]["status"], "ACTIVE");
        }
        other => panic!("{other:?}"),
    }
    ws.send(json!({"type": "stop", "id": "7"})).await;
    match ws.next(Duration::from_secs(2)).await {
        Got::Json(v) => assert_eq!((v["type"].as_str(), v["id"].as_str()), (Some("complete"), Some("7"))),
        other => panic!("{other:?}"),
    }
    let mut refused = Ws::open(&app.base, "graphql-ws").await;
    refused.send(json!({"type": "connection_init", "payload": {"x-api-key": "agk_nope"}})).await;
    match refused.next(Duration::from_secs(2)).await {
        Got::Json(v) => assert_eq!(v["type"], "connection_error"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_credentials_are_closed_and_hear_nothing() {
    use jsonwebtoken::{encode, EncodingKey, Header};
    let secret = "a-test-secret-of-at-least-32-bytes-long";
    let app = TestApp::spawn_with(Backend::Sqlite, &["--jwt-secret", secret]).await.unwrap();
    let org = app.data("{ viewer { organization { id } } }", json!({})).await["viewer"]["organization"]["id"].clone();
    let exp = chrono::Utc::now().timestamp() + 2;
    let token = encode(
        &Header::default(),
        &json!({"sub": "short", "org": org, "role": "VIEWER", "exp": exp}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let mut ws = Ws::open(&app.base, T).await;
    ws.send(json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}})).await;
    assert!(matches!(ws.next(Duration::from_secs(2)).await, Got::Json(v) if v["type"] == "connection_ack"));
    ws.subscribe("1", STATUS_SUB, json!({})).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mei = app.account_id("acc-mei-usdc").await;
    app.data(SET, json!({"id": mei, "s": "ACTIVE"})).await;
    match ws.next(Duration::from_secs(3)).await {
        Got::Closed(code, _) => assert_eq!(code, 4403),
        other => panic!("expected the 4403 close, not {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_subscriber_is_ended_with_a_reason() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.subscribe("slow", STATUS_SUB, json!({})).await;
    app.wait_subscribers(1).await;
    let org = accounts_gateway::service::organizations::ensure(&app.db, "demo").await.unwrap().id;
    let account = uuid::Uuid::parse_str(app.account_id("acc-ana-main").await.as_str().unwrap()).unwrap();
    let burst: Vec<Sequenced> = (0..10_000)
        .map(|_| DomainEvent::AccountStatusChanged {
            organization_id: org,
            account_id: account,
            owner_id: None,
            previous: AccountStatus::Active,
            status: AccountStatus::Active,
            reason_code: None,
            reason_description: None,
            actor: "burst".into(),
            at: chrono::Utc::now(),
        })
        .map(|event| Sequenced { seq: 0, event })
        .collect();
    app.store.events.committed(burst);
    // Delivery is synchronous at commit now, so the subscriber may fall
    // behind before its first event: then the protocol's `error` message
    // (terminal, no `complete`) carries the reason; otherwise a `next` with
    // the error, then `complete`.
    let mut delivered = 0;
    let terminal = loop {
        match ws.next(Duration::from_secs(20)).await {
            Got::Json(v) if v["type"] == "next" && v["payload"]["errors"].is_array() => {
                let msg = v["payload"]["errors"][0]["message"].as_str().unwrap().to_owned();
                assert!(msg.contains("behind"), "{msg}");
                break false;
            }
            Got::Json(v) if v["type"] == "error" => {
                let msg = v["payload"][0]["message"].as_str().unwrap().to_owned();
                assert!(msg.contains("behind"), "{msg}");
                break true;
            }
            Got::Json(v) if v["type"] == "next" => delivered += 1,
            other => panic!("after {delivered} events: {other:?}"),
        }
    };
    assert!(delivered < 10_000, "the buffer is bounded");
    if !terminal {
        match ws.next(Duration::from_secs(5)).await {
            Got::Json(v) => assert_eq!((v["type"].as_str(), v["id"].as_str()), (Some("complete"), Some("slow"))),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_sockets_with_1001() {
    let mut app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let mut ws = Ws::ready(&app.base, T, &app.key).await;
    ws.subscribe("1", STATUS_SUB, json!({})).await;
    let _ = app.stop.take().unwrap().send(());
    assert_eq!(ws.close_code().await, 1001);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_events_through_redis() {
    let Some(redis) = redis_flags() else { return };
    let backend = if std::env::var("DATABASE_URL").is_ok() { Backend::Postgres } else { Backend::Sqlite };
    let a = TestApp::spawn_with(backend, &strs(&redis)).await.unwrap();
    let b = a.sibling(&strs(&redis)).await;
    let c = a.sibling(&strs(&redis)).await;
    let mei = a.account_id("acc-mei-usdc").await;
    let mut sockets = Vec::new();
    for replica in [&a, &b, &c] {
        let mut ws = Ws::ready(&replica.base, T, &replica.key).await;
        ws.subscribe("1", STATUS_SUB, json!({"a": mei})).await;
        replica.wait_subscribers(1).await;
        sockets.push(ws);
    }
    // A change made through any replica reaches the subscriber on each.
    for (through, status) in [(&a, "ACTIVE"), (&b, "INACTIVE"), (&c, "ACTIVE")] {
        through.data(SET, json!({"id": mei, "s": status})).await;
        for (i, ws) in sockets.iter_mut().enumerate() {
            let got = ws.event().await;
            assert_eq!(
                got["data"]["accountStatusChanged"]["status"], status,
                "replica {i} hears the change to {status}"
            );
        }
    }
    for ws in sockets.iter_mut() {
        assert!(matches!(ws.next(QUIET).await, Got::Nothing), "each change exactly once");
    }
}
