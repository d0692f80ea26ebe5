//! `accountEvents`, spoken to over WebSocket: every kind of change in
//! commit order with the state it left, filters, tenancy, resuming after a
//! cursor (across replicas, with changes committing during the replay),
//! and retention (EVENTS_EXPIRED, whole partitions dropped on PostgreSQL).

use crate::helpers::{redis_flags, strs, Backend, TestApp};
use crate::ws_client::{Got, Ws};
use accounts_gateway::domain::Role;
use accounts_gateway::service::{api_keys, event_log};
use base64::Engine;
use serde_json::{json, Value};
use std::time::Duration;

const T: &str = "graphql-transport-ws";
const EVENTS: &str = "subscription($a: UUID, $o: UUID, $k: [AccountEventKind!], $after: String) {
    accountEvents(accountId: $a, ownerId: $o, kinds: $k, after: $after) {
        cursor kind actor at previousStatus status
        account { id name } asset { id status } wallet { id active } card { id active }
        transfer { id amount } balance { available }
    } }";
const CREATE: &str = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id assets { id } } }";
const QUIET: Duration = Duration::from_millis(400);

/// The event number inside a cursor (the test may look: it wrote the API).
fn seq(cursor: &Value) -> i64 {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor.as_str().unwrap()).unwrap();
    String::from_utf8(bytes).unwrap().strip_prefix("event:").unwrap().parse().unwrap()
}

/// The next `accountEvents` event on `ws`.
async fn next(ws: &mut Ws) -> Value {
    ws.event().await["data"]["accountEvents"].clone()
}

async fn subscribe(app: &TestApp, key: &str, vars: Value) -> Ws {
    let mut ws = Ws::ready(&app.base, T, key).await;
    ws.subscribe("e", EVENTS, vars).await;
    ws
}

async fn every_change_is_one_event_with_what_it_left(app: TestApp) {
    let ana = app.client_id("cli-ana").await;
    let mut all = subscribe(&app, &app.key, json!({})).await;
    let mut balances = subscribe(&app, &app.key, json!({"k": ["BALANCE_CHANGED"]})).await;
    let mut anas = subscribe(&app, &app.key, json!({"o": ana})).await;
    app.wait_subscribers(3).await;

    let made = app.data(CREATE, json!({"i": {"name": "ev", "type": "PERSONAL", "ownerExternalId": "cli-ana", "status": "ACTIVE", "assets": [{"currency": "EUR", "initialBalance": "20"}]}})).await;
    let (acc, asset) = (made["createAccount"]["id"].clone(), made["createAccount"]["assets"][0]["id"].clone());
    let peer = app.data(CREATE, json!({"i": {"name": "peer", "type": "PERSONAL", "ownerExternalId": "cli-mei", "status": "ACTIVE", "assets": [{"currency": "EUR"}]}})).await;
    let (peer_acc, peer_asset) =
        (peer["createAccount"]["id"].clone(), peer["createAccount"]["assets"][0]["id"].clone());
    let set_asset = "mutation($id: UUID!) { setAssetStatus(id: $id, status: ACTIVE) { id } }";
    app.data(set_asset, json!({"id": asset})).await;
    app.data(set_asset, json!({"id": peer_asset})).await;
    app.data("mutation($id: UUID!) { updateAccount(id: $id, input: {name: \"ev2\"}) { id } }", json!({"id": acc}))
        .await;
    app.data(crate::mutations_assets::ADJUST, json!({"a": asset, "i": {"idempotencyKey": "ev-1", "available": "2.5"}}))
        .await;
    let t = app
        .data(
            "mutation($i: TransferInput!) { transfer(input: $i) { id } }",
            json!({"i": {"idempotencyKey": "ev-t", "fromAssetId": asset, "toAssetId": peer_asset, "amount": "7.25"}}),
        )
        .await["transfer"]["id"]
        .clone();
    let card = app.data("mutation($a: UUID!) { issueSmartCard(accountId: $a, input: {name: \"c\", cardNumber: \"4012888888881881\", expirationDate: \"12/30\"}) { id } }", json!({"a": acc})).await["issueSmartCard"]["id"].clone();
    app.data("mutation($id: UUID!) { setSmartCardActive(id: $id, active: false) { id } }", json!({"id": card})).await;
    let eth = app
        .data("mutation($a: UUID!) { addAsset(accountId: $a, input: {currency: \"ETH\"}) { id } }", json!({"a": acc}))
        .await["addAsset"]["id"]
        .clone();
    let wallet = app.data("mutation($a: UUID!) { addWallet(assetId: $a, input: {network: \"ethereum\", address: \"0x52908400098527886e0f7030069857d2e4169ee7\"}) { id } }", json!({"a": eth})).await["addWallet"]["id"].clone();
    app.data("mutation($id: UUID!) { setWalletActive(id: $id, active: false) { id } }", json!({"id": wallet})).await;
    app.data("mutation($id: UUID!) { setAccountStatus(id: $id, status: BLOCKED) { id } }", json!({"id": acc})).await;
    let gone = app.data(CREATE, json!({"i": {"name": "gone", "type": "PERSONAL", "ownerExternalId": "cli-ana"}})).await
        ["createAccount"]["id"]
        .clone();
    app.data("mutation($id: UUID!) { deleteAccount(id: $id) { id } }", json!({"id": gone})).await;

    let expected = [
        ("CREATED", &acc),
        ("ASSET_ADDED", &acc),
        ("CREATED", &peer_acc),
        ("ASSET_ADDED", &peer_acc),
        ("ASSET_STATUS_CHANGED", &acc),
        ("ASSET_STATUS_CHANGED", &peer_acc),
        ("UPDATED", &acc),
        ("BALANCE_CHANGED", &acc),
        ("BALANCE_CHANGED", &acc),
        ("BALANCE_CHANGED", &peer_acc),
        ("CARD_ISSUED", &acc),
        ("CARD_CHANGED", &acc),
        ("ASSET_ADDED", &acc),
        ("WALLET_ADDED", &acc),
        ("WALLET_CHANGED", &acc),
        ("STATUS_CHANGED", &acc),
        ("CREATED", &gone),
        ("DELETED", &gone),
    ];
    let mut seen = Vec::new();
    for (kind, account) in expected {
        let e = next(&mut all).await;
        assert_eq!((e["kind"].as_str().unwrap(), &e["account"]["id"]), (kind, account), "{e}");
        assert_eq!(e["actor"], "key:initial-admin");
        seen.push(e);
    }
    assert!(matches!(all.next(QUIET).await, Got::Nothing), "one event per change");
    let numbers: Vec<i64> = seen.iter().map(|e| seq(&e["cursor"])).collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "numbered in commit order with no hole: {numbers:?}");

    // Each event carries the state its own change left.
    assert_eq!(seen[7]["balance"]["available"], "22.50");
    assert_eq!((&seen[7]["asset"]["id"], &seen[7]["transfer"]), (&asset, &Value::Null));
    assert_eq!((&seen[8]["balance"]["available"], &seen[8]["transfer"]["id"]), (&json!("15.25"), &t));
    assert_eq!((&seen[9]["balance"]["available"], &seen[9]["transfer"]["amount"]), (&json!("7.25"), &json!("7.25")));
    assert_eq!((&seen[10]["card"]["id"], &seen[11]["card"]["active"]), (&card, &json!(false)));
    assert_eq!((&seen[13]["wallet"]["id"], &seen[13]["asset"]["id"]), (&wallet, &eth));
    assert_eq!((&seen[15]["previousStatus"], &seen[15]["status"]), (&json!("ACTIVE"), &json!("BLOCKED")));
    assert_eq!(seen[17]["status"], "DELETED");

    // Filters: by kind, and by owner (Ana's accounts only, never the peer's).
    for want in [&seen[7], &seen[8], &seen[9]] {
        assert_eq!(&next(&mut balances).await["cursor"], &want["cursor"]);
    }
    assert!(matches!(balances.next(QUIET).await, Got::Nothing));
    let ana_events: Vec<&Value> = seen.iter().filter(|e| e["account"]["id"] != peer_acc).collect();
    for want in ana_events {
        assert_eq!(&next(&mut anas).await["cursor"], &want["cursor"]);
    }
    assert!(matches!(anas.next(QUIET).await, Got::Nothing), "the peer belongs to Mei");
}

async fn tenants_and_cursors_stay_apart(app: TestApp) {
    let (_, other) = api_keys::create(&app.db, "other", Role::Admin, "o").await.unwrap();
    let mut spy = subscribe(&app, &other, json!({})).await;
    let mut own = subscribe(&app, &app.key, json!({})).await;
    app.wait_subscribers(2).await;
    let mei = app.account_id("acc-mei-usdc").await;
    let set = "mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { id } }";
    app.data(set, json!({"id": mei, "s": "ACTIVE"})).await;
    let first = next(&mut own).await;
    assert_eq!(first["kind"], "STATUS_CHANGED", "the control: the change is heard in its organization");
    assert!(matches!(spy.next(QUIET).await, Got::Nothing), "never in another");
    // A cursor is a place in one organization's stream: the other tenant
    // has no event there to resume after, and replays nothing of ours.
    let mut replay = subscribe(&app, &other, json!({"after": first["cursor"]})).await;
    match replay.next(Duration::from_secs(5)).await {
        Got::Json(v) => assert!(v.to_string().contains("VALIDATION_FAILED"), "{v}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut junk = subscribe(&app, &app.key, json!({"after": "bm9wZQ"})).await;
    match junk.next(Duration::from_secs(5)).await {
        Got::Json(v) => assert!(v.to_string().contains("VALIDATION_FAILED"), "{v}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Old events leave the log with the retention; a cursor whose next event
/// is gone is EVENTS_EXPIRED, a fresher one still resumes.
async fn an_expired_cursor_is_refused_and_a_fresh_one_resumes(app: TestApp) {
    let mei = app.account_id("acc-mei-usdc").await;
    let set = "mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { id } }";
    let mut ws = subscribe(&app, &app.key, json!({})).await;
    app.wait_subscribers(1).await;
    app.data(set, json!({"id": mei, "s": "ACTIVE"})).await;
    app.data(set, json!({"id": mei, "s": "INACTIVE"})).await;
    let old = next(&mut ws).await["cursor"].clone();
    next(&mut ws).await;
    let postgres = app.db_url.starts_with("postgres");
    if postgres {
        // The events went to the hour's partition, not the default one.
        let in_default = count(&app, "SELECT count(*) AS n FROM account_events_default").await;
        assert_eq!(in_default, 0, "the upkeep made the current hour's partition at start");
    }
    let partitions_before = partitions(&app).await;
    let day = Duration::from_secs(86_400);
    app.clock.advance(day + Duration::from_secs(2 * 3600));
    event_log::upkeep(&app.db, app.clock.now(), day).await.unwrap();
    if postgres {
        let after = partitions(&app).await;
        assert!(
            partitions_before.iter().any(|p| !after.contains(p)),
            "old partitions dropped whole: {partitions_before:?} -> {after:?}"
        );
    }
    app.data(set, json!({"id": mei, "s": "ACTIVE"})).await;
    let fresh = next(&mut ws).await["cursor"].clone();
    app.data(set, json!({"id": mei, "s": "INACTIVE"})).await;

    let mut expired = subscribe(&app, &app.key, json!({"after": old})).await;
    match expired.next(Duration::from_secs(5)).await {
        Got::Json(v) => assert!(v.to_string().contains("EVENTS_EXPIRED"), "{v}"),
        other => panic!("expected EVENTS_EXPIRED, got {other:?}"),
    }
    let mut resumed = subscribe(&app, &app.key, json!({"after": fresh})).await;
    let e = next(&mut resumed).await;
    assert_eq!((e["kind"].as_str(), e["status"].as_str()), (Some("STATUS_CHANGED"), Some("INACTIVE")));
    assert_eq!(seq(&e["cursor"]), seq(&fresh) + 1);
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let stmt = sea_orm::Statement::from_string(app.db.get_database_backend(), sql.to_owned());
    app.db.query_one_raw(stmt).await.unwrap().unwrap().try_get::<i64>("", "n").unwrap()
}

/// The log's partitions (none on SQLite).
async fn partitions(app: &TestApp) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    if !app.db_url.starts_with("postgres") {
        return Vec::new();
    }
    let sql = "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
               WHERE i.inhparent = 'account_events'::regclass ORDER BY 1";
    let rows = app.db.query_all_raw(sea_orm::Statement::from_string(sea_orm::DatabaseBackend::Postgres, sql)).await;
    rows.unwrap().iter().map(|r| r.try_get::<String>("", "name").unwrap()).collect()
}

crate::backend_tests!(
    every_change_is_one_event_with_what_it_left,
    tenants_and_cursors_stay_apart,
    an_expired_cursor_is_refused_and_a_fresh_one_resumes,
);

/// `n` account rows for `importAccounts`, named `{prefix}-{i}` in order.
fn rows(prefix: &str, n: usize) -> Value {
    (0..n)
        .map(|i| json!({"name": format!("{prefix}-{i:04}"), "type": "PERSONAL", "ownerExternalId": "cli-ana"}))
        .collect()
}

const IMPORT: &str = "mutation($rows: [CreateAccountInput!]!) { importAccounts(rows: $rows) { created } }";

/// Reads from `ws` until `n` events arrived; checks they are numbered one
/// after another from `after`, and returns them.
async fn collect(ws: &mut Ws, after: i64, n: usize) -> Vec<Value> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let e = next(ws).await;
        assert_eq!(seq(&e["cursor"]), after + 1 + got.len() as i64, "no gap, no repeat");
        got.push(e);
    }
    got
}

/// A subscriber drops, 1,000 changes are made through another replica,
/// and it resumes with its last cursor: exactly those, in order, then the
/// live ones; then again with changes committing during the replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_subscriber_resumes_with_nothing_lost_or_repeated() {
    let backend = if std::env::var("DATABASE_URL").is_ok() { Backend::Postgres } else { Backend::Sqlite };
    // Replicas share events through Redis; without it, one gateway.
    let redis = redis_flags();
    let flags = redis.clone().unwrap_or_default();
    let Some(a) = TestApp::spawn_with(backend, &strs(&flags)).await else { return };
    let b = match &redis {
        Some(r) => Some(a.sibling(&strs(r)).await),
        None => None,
    };
    let writer = b.as_ref().unwrap_or(&a);
    let mei = a.account_id("acc-mei-usdc").await;
    let set = "mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { id } }";

    let mut ws = subscribe(&a, &a.key, json!({})).await;
    a.wait_subscribers(1).await;
    writer.data(set, json!({"id": mei, "s": "ACTIVE"})).await;
    let last = next(&mut ws).await["cursor"].clone();
    drop(ws);
    // A second subscriber on A stays: once it has heard the changes, A's
    // live bus is past them, so the one that resumes can only replay them.
    let mut sentinel = subscribe(&a, &a.key, json!({})).await;
    a.wait_subscribers(1).await;

    assert_eq!(writer.data(IMPORT, json!({"rows": rows("missed", 1000)})).await["importAccounts"]["created"], 1000);
    collect(&mut sentinel, seq(&last), 1000).await;
    let mut ws = subscribe(&a, &a.key, json!({"after": last})).await;
    let missed = collect(&mut ws, seq(&last), 1000).await;
    for (i, e) in missed.iter().enumerate() {
        assert_eq!(
            (e["kind"].as_str(), e["account"]["name"].as_str()),
            (Some("CREATED"), Some(format!("missed-{i:04}").as_str()))
        );
    }
    writer.data(set, json!({"id": mei, "s": "INACTIVE"})).await;
    let live = collect(&mut ws, seq(&last) + 1000, 1).await;
    assert_eq!(live[0]["status"], "INACTIVE", "then the live ones");
    assert!(matches!(ws.next(QUIET).await, Got::Nothing), "and nothing twice");
    let last = live[0]["cursor"].clone();
    drop(ws);

    // Again, with changes committing while the replay runs.
    collect(&mut sentinel, seq(&last) - 1, 1).await;
    writer.data(IMPORT, json!({"rows": rows("during", 1000)})).await;
    collect(&mut sentinel, seq(&last), 1000).await;
    let toggles = 40;
    let mut ws = subscribe(&a, &a.key, json!({"after": last})).await;
    let changing = async {
        for i in 0..toggles {
            let s = if i % 2 == 0 { "ACTIVE" } else { "INACTIVE" };
            writer.data(set, json!({"id": mei, "s": s})).await;
        }
    };
    let (got, ()) = tokio::join!(collect(&mut ws, seq(&last), 1000 + toggles), changing);
    let created: Vec<&str> =
        got.iter().filter(|e| e["kind"] == "CREATED").map(|e| e["account"]["name"].as_str().unwrap()).collect();
    let expected: Vec<String> = (0..1000).map(|i| format!("during-{i:04}")).collect();
    assert_eq!(created, expected, "the missed ones in order");
    assert_eq!(got.iter().filter(|e| e["kind"] == "STATUS_CHANGED").count(), toggles);
    assert!(matches!(ws.next(QUIET).await, Got::Nothing), "nothing twice");
}
