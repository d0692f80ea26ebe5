//! Money movement (v3): exact amounts, the movement rules on every write
//! that moves money, transfers, keyed creates.

use crate::helpers::{Backend, TestApp};
use crate::mutations_assets::ADJUST;
use serde_json::{json, Value};

const CREATE: &str = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id status assets { id } } }";
const ASSET_ON: &str = "mutation($id: UUID!) { setAssetStatus(id: $id, status: ACTIVE) { status } }";
const TRANSFER: &str = "mutation($i: TransferInput!) { transfer(input: $i) { id idempotencyKey amount fee reason actor currency { code } from { id balance { available } } to { id balance { available } } } }";
const JOURNAL: &str = "query($id: UUID!) { account(id: $id) { assets { journal(first: 10) { totalCount nodes { cause deltaAvailable balance { available } transfer { id } } } } } }";

/// A new EUR account of Ana in `status` with an active asset holding
/// `balance`; returns (account id, asset id).
async fn account_with(app: &TestApp, status: &str, flags: Value, balance: &str) -> (Value, Value) {
    let mut input = json!({"name": format!("mm {status}"), "type": "PERSONAL", "ownerExternalId": "cli-ana",
        "status": if status == "DELETED" { "ACTIVE" } else { status },
        "assets": [{"currency": "EUR", "initialBalance": balance}]});
    if let (Some(i), Some(f)) = (input.as_object_mut(), flags.as_object()) {
        i.extend(f.clone());
    }
    let created = app.data(CREATE, json!({"i": input})).await["createAccount"].clone();
    let asset = created["assets"][0]["id"].clone();
    app.data(ASSET_ON, json!({"id": asset})).await;
    if status == "DELETED" {
        app.data("mutation($id: UUID!) { deleteAccount(id: $id) { status } }", json!({"id": created["id"]})).await;
    }
    (created["id"].clone(), asset)
}

async fn adjust(app: &TestApp, asset: &Value, key: &str, delta: &str) -> Value {
    app.gql(ADJUST, json!({"a": asset, "i": {"idempotencyKey": key, "available": delta}})).await
}

/// NOT_ALLOWED with a message naming `word`, or the body.
fn refused_naming(body: &Value, word: &str) -> bool {
    body["errors"][0]["extensions"]["code"] == "NOT_ALLOWED"
        && body["errors"][0]["message"].as_str().is_some_and(|m| m.contains(word))
}

async fn movement_rules_for_every_status_and_flag(app: TestApp) {
    for status in ["PENDING", "INACTIVE", "BLOCKED", "SUSPENDED"] {
        let (_, asset) = account_with(&app, status, json!({}), "10").await;
        assert!(refused_naming(&adjust(&app, &asset, &format!("{status}-d"), "-1").await, status), "{status} debit");
        assert!(refused_naming(&adjust(&app, &asset, &format!("{status}-c"), "1").await, status), "{status} credit");
    }
    // DELETED: the asset emptied first (a non-zero balance blocks deletion).
    let (_, asset) = account_with(&app, "DELETED", json!({}), "0").await;
    assert!(refused_naming(&adjust(&app, &asset, "del-c", "1").await, "DELETED"));
    let (c, _) = app.error(ASSET_ON, json!({"id": asset})).await;
    assert_eq!(c, "NOT_ALLOWED", "setAssetStatus on a deleted account's asset");
    let wallet = "mutation($a: UUID!) { addWallet(assetId: $a, input: {network: \"ethereum\", address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"}) { id } }";
    let (c, _) = app.error(wallet, json!({"a": asset})).await;
    assert_eq!(c, "NOT_ALLOWED", "addWallet on a deleted account's asset");

    let (_, asset) = account_with(&app, "ACTIVE", json!({"allowSending": false}), "10").await;
    assert!(refused_naming(&adjust(&app, &asset, "ns-d", "-1").await, "allowSending"));
    assert!(adjust(&app, &asset, "ns-c", "1").await.get("errors").is_none(), "credit still allowed");
    let (_, asset) = account_with(&app, "ACTIVE", json!({"allowReceiving": false}), "10").await;
    assert!(refused_naming(&adjust(&app, &asset, "nr-c", "1").await, "allowReceiving"));
    let future = app.gql(ADJUST, json!({"a": asset, "i": {"idempotencyKey": "nr-f", "future": "1"}})).await;
    assert!(refused_naming(&future, "allowReceiving"), "future follows the credit column");
    assert!(adjust(&app, &asset, "nr-d", "-1").await.get("errors").is_none(), "debit still allowed");
    // An inactive asset of an active account.
    let created = app.data(CREATE, json!({"i": {"name": "mm off", "type": "PERSONAL", "ownerExternalId": "cli-ana", "status": "ACTIVE", "assets": [{"currency": "EUR", "initialBalance": "5"}]}})).await;
    let off = created["createAccount"]["assets"][0]["id"].clone();
    assert!(refused_naming(&adjust(&app, &off, "off-c", "1").await, "INACTIVE"));
}

async fn amounts_are_taken_exactly_or_refused(app: TestApp) {
    let (_, asset) = account_with(&app, "ACTIVE", json!({}), "10").await;
    for bad in ["0.00999999999999999999999999999", "1_000", "1e3", "+1", " 1", ".5", "5.", "0x10"] {
        let body = adjust(&app, &asset, &format!("x-{bad}"), bad).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION_FAILED", "{bad:?}: {body}");
        // The engine refuses a variable's scalar before any resolver runs:
        // it names the argument, and the message quotes the value.
        assert_eq!(body["errors"][0]["extensions"]["details"][0]["field"], "input", "{body}");
        let quoted = serde_json::to_string(bad).unwrap();
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains(&quoted)), "{bad:?}: {body}");
    }
    let j = app.data("{ accounts(first: 100) { nodes { assets { id journal { totalCount } } } } }", json!({})).await;
    let count = j["accounts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["assets"].as_array().unwrap().clone())
        .find(|a| a["id"] == asset)
        .unwrap()["journal"]["totalCount"]
        .clone();
    assert_eq!(count, 1, "nothing changed: only the opening entry");
    let ok = adjust(&app, &asset, "exact", "0.10").await;
    assert_eq!(ok["data"]["adjustBalance"]["balance"]["available"], "10.10");
}

/// Two active EUR accounts; returns their asset ids.
async fn pair(app: &TestApp, a: &str, b: &str) -> ((Value, Value), (Value, Value)) {
    (account_with(app, "ACTIVE", json!({}), a).await, account_with(app, "ACTIVE", json!({}), b).await)
}

async fn a_transfer_moves_exactly_once(app: TestApp) {
    let ((acc_a, a), (acc_b, b)) = pair(&app, "100.00", "5.00").await;
    let input = json!({"idempotencyKey": "t-1", "fromAssetId": a, "toAssetId": b, "amount": "40.25", "reason": "rent", "metadata": {"invoice": 7}});
    let t = app.data(TRANSFER, json!({"i": input})).await["transfer"].clone();
    assert_eq!((t["amount"].as_str(), t["fee"].as_str()), (Some("40.25"), None));
    assert_eq!(t["from"]["balance"]["available"], "59.75");
    assert_eq!(t["to"]["balance"]["available"], "45.25");
    assert_eq!((t["currency"]["code"].as_str(), t["actor"].as_str()), (Some("EUR"), Some("key:initial-admin")));
    // A replay returns the first transfer and writes nothing.
    let again = app.data(TRANSFER, json!({"i": input})).await["transfer"].clone();
    assert_eq!(again["id"], t["id"]);
    assert_eq!(again["from"]["balance"]["available"], "59.75", "moved once");
    let mut other = input.clone();
    other["amount"] = json!("40.26");
    let (c, f) = app.error(TRANSFER, json!({"i": other})).await;
    assert_eq!((c.as_str(), f.as_str()), ("CONFLICT", "input.idempotencyKey"));
    // Journal: one TRANSFER leg per side, linked to the transfer.
    for (acc, delta, after) in [(&acc_a, "-40.25", "59.75"), (&acc_b, "40.25", "45.25")] {
        let j = app.data(JOURNAL, json!({"id": acc})).await["account"]["assets"][0]["journal"].clone();
        assert_eq!(j["totalCount"], 2, "{j}");
        let leg = &j["nodes"][0];
        assert_eq!((leg["cause"].as_str(), leg["deltaAvailable"].as_str()), (Some("TRANSFER"), Some(delta)));
        assert_eq!(leg["balance"]["available"], after);
        assert_eq!(leg["transfer"]["id"], t["id"]);
    }
    // Reads: by id, by filter, per account.
    let q = "query($id: UUID!, $acc: UUID!) { transfer(id: $id) { id reason metadata } transfers(filter: {accountId: $acc, currency: \"EUR\"}) { totalCount nodes { id } } account(id: $acc) { transfers { totalCount nodes { id amount } } } }";
    let r = app.data(q, json!({"id": t["id"], "acc": acc_b})).await;
    assert_eq!(r["transfer"]["reason"], "rent");
    assert_eq!(r["transfer"]["metadata"], json!({"invoice": 7}));
    assert_eq!(r["transfers"]["totalCount"], 1);
    assert_eq!(r["account"]["transfers"]["nodes"][0]["amount"], "40.25");
    let none = app.data("query { transfers(filter: {currency: \"USD\"}) { totalCount } }", json!({})).await;
    assert_eq!(none["transfers"]["totalCount"], 0);
    let trail = app
        .data(
            "query($id: UUID) { auditEvents(filter: {entityId: $id}) { totalCount nodes { action } } }",
            json!({"id": t["id"]}),
        )
        .await;
    assert_eq!(trail["auditEvents"]["totalCount"], 1, "one audit event, none for the replay");
    assert_eq!(trail["auditEvents"]["nodes"][0]["action"], "transfer.completed");
}

async fn transfers_refuse_what_the_rules_refuse(app: TestApp) {
    let ((_, a), (_, b)) = pair(&app, "10.00", "0").await;
    let send = |key: &str, amount: &str| json!({"i": {"idempotencyKey": key, "fromAssetId": a, "toAssetId": b, "amount": amount}});
    for (key, amount, field) in [
        ("r1", "0", "input.amount"),
        ("r2", "-1", "input.amount"),
        ("r3", "0.001", "input.amount"),
        ("r4", "10.01", "input.amount"),
        ("r5", "1e1", "input"),
    ] {
        let (c, f) = app.error(TRANSFER, send(key, amount)).await;
        assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", field), "{amount}");
    }
    let usd = app
        .data("{ accountByExternalId(externalId: \"acc-acme-ops\") { assets { id currency { code } } } }", json!({}))
        .await;
    let usd = usd["accountByExternalId"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["currency"]["code"] == "USD")
        .unwrap()["id"]
        .clone();
    let (c, f) = app
        .error(TRANSFER, json!({"i": {"idempotencyKey": "r6", "fromAssetId": a, "toAssetId": usd, "amount": "1"}}))
        .await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.toAssetId"), "currencies must match");
    let (c, f) = app
        .error(TRANSFER, json!({"i": {"idempotencyKey": "r7", "fromAssetId": a, "toAssetId": a, "amount": "1"}}))
        .await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.toAssetId"));
    let (c, f) = app.error(TRANSFER, json!({"i": {"idempotencyKey": "r8", "fromAssetId": a, "toAssetId": "0190b1c2-0000-7000-8000-000000000000", "amount": "1"}})).await;
    assert_eq!((c.as_str(), f.as_str()), ("NOT_FOUND", "input.toAssetId"));
    let (_, blocked) = account_with(&app, "BLOCKED", json!({}), "0").await;
    let body = app
        .gql(TRANSFER, json!({"i": {"idempotencyKey": "r9", "fromAssetId": a, "toAssetId": blocked, "amount": "1"}}))
        .await;
    assert!(refused_naming(&body, "BLOCKED"), "{body}");
    let (_, mute) = account_with(&app, "ACTIVE", json!({"allowSending": false}), "5").await;
    let body = app
        .gql(TRANSFER, json!({"i": {"idempotencyKey": "r10", "fromAssetId": mute, "toAssetId": b, "amount": "1"}}))
        .await;
    assert!(refused_naming(&body, "allowSending"), "{body}");
    let (c, f) = app
        .error(
            TRANSFER,
            json!({"i": {"idempotencyKey": "r11", "fromAssetId": a, "toAssetId": b, "amount": "1", "fee": "0.10"}}),
        )
        .await;
    assert_eq!((c.as_str(), f.as_str()), ("VALIDATION_FAILED", "input.fee"), "no FEE_PAYER account for EUR yet");
    let count = app.data("{ transfers { totalCount } }", json!({})).await;
    assert_eq!(count["transfers"]["totalCount"], 0, "nothing was written");
}

async fn a_fee_goes_to_the_fee_payer_account(app: TestApp) {
    let ((acc_a, a), (_, b)) = pair(&app, "10.00", "0").await;
    let payer = app
        .data("mutation { systemAccount(role: FEE_PAYER, currency: \"EUR\") { id assets { id } } }", json!({}))
        .await;
    let payer_acc = payer["systemAccount"]["id"].clone();
    let t = app
        .data(
            TRANSFER,
            json!({"i": {"idempotencyKey": "f-1", "fromAssetId": a, "toAssetId": b, "amount": "2.00", "fee": "0.25"}}),
        )
        .await["transfer"]
        .clone();
    assert_eq!((t["amount"].as_str(), t["fee"].as_str()), (Some("2.00"), Some("0.25")));
    assert_eq!(t["from"]["balance"]["available"], "7.75");
    assert_eq!(t["to"]["balance"]["available"], "2.00");
    let j = app.data(JOURNAL, json!({"id": acc_a})).await["account"]["assets"][0]["journal"].clone();
    let legs: Vec<(&str, &str)> = j["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .map(|n| (n["deltaAvailable"].as_str().unwrap(), n["balance"]["available"].as_str().unwrap()))
        .collect();
    assert!(legs.contains(&("-2.00", "8.00")) && legs.contains(&("-0.25", "7.75")), "{legs:?}");
    let p = app.data(JOURNAL, json!({"id": payer_acc})).await["account"]["assets"][0]["journal"].clone();
    assert_eq!(p["nodes"][0]["deltaAvailable"], "0.25");
    assert_eq!(p["nodes"][0]["transfer"]["id"], t["id"]);
    let legs = app.data("{ transfers { nodes { id } } }", json!({})).await;
    assert_eq!(legs["transfers"]["nodes"].as_array().map(Vec::len), Some(1));
}

async fn keyed_creates_make_one_account(app: TestApp) {
    let input = json!({"name": "Keyed", "type": "PERSONAL", "ownerExternalId": "cli-ana", "idempotencyKey": "c-1"});
    let first = app.data(CREATE, json!({"i": input})).await["createAccount"]["id"].clone();
    let again = app.data(CREATE, json!({"i": input})).await["createAccount"]["id"].clone();
    assert_eq!(first, again, "a retry returns the first account");
    let mut other = input.clone();
    other["name"] = json!("Keyed twice");
    let (c, f) = app.error(CREATE, json!({"i": other})).await;
    assert_eq!((c.as_str(), f.as_str()), ("CONFLICT", "input.idempotencyKey"));
    let n = app.data("{ accounts(filter: {search: \"Keyed\"}) { totalCount } }", json!({})).await;
    assert_eq!(n["accounts"]["totalCount"], 1);
    let import = "mutation($rows: [CreateAccountInput!]!) { importAccounts(rows: $rows) { created accounts { id } } }";
    let row =
        json!({"name": "Keyed import", "type": "PERSONAL", "ownerExternalId": "cli-ana", "idempotencyKey": "c-2"});
    let one = app.data(import, json!({"rows": [row]})).await["importAccounts"]["accounts"][0]["id"].clone();
    let two = app.data(import, json!({"rows": [row]})).await["importAccounts"]["accounts"][0]["id"].clone();
    assert_eq!(one, two, "an import row with a key is made once");
}

async fn account_transfers_are_batched_like_every_relation(app: TestApp) {
    let ((_, a), (acc_b, b)) = pair(&app, "10.00", "0").await;
    for i in 0..3 {
        let input = json!({"idempotencyKey": format!("b-{i}"), "fromAssetId": a, "toAssetId": b, "amount": "1.00"});
        app.data(TRANSFER, json!({ "i": input })).await;
    }
    let q = "query($n: Int!) { accounts(first: $n) { nodes { id transfers(first: 2) { nodes { id } pageInfo { hasNextPage } } } } }";
    app.data("{ __typename }", json!({})).await;
    let mut costs = Vec::new();
    let mut last = Value::Null;
    for n in [5, 50] {
        let before = app.statements().await;
        last = app.data(q, json!({ "n": n })).await;
        costs.push(app.statements().await - before);
    }
    assert_eq!(costs[0], costs[1], "the same statements for 5 and 50 accounts");
    let nodes = last["accounts"]["nodes"].as_array().unwrap();
    let of_b = nodes.iter().find(|n| n["id"] == acc_b).unwrap()["transfers"].clone();
    let direct = app
        .data("query($a: UUID!) { transfers(filter: {accountId: $a}, first: 2) { nodes { id } pageInfo { hasNextPage } } }", json!({"a": acc_b}))
        .await;
    assert_eq!(of_b, direct["transfers"], "the batched page is the page");
    assert_eq!(of_b["pageInfo"]["hasNextPage"], true);
}

crate::backend_tests!(
    account_transfers_are_batched_like_every_relation,
    movement_rules_for_every_status_and_flag,
    amounts_are_taken_exactly_or_refused,
    a_transfer_moves_exactly_once,
    transfers_refuse_what_the_rules_refuse,
    a_fee_goes_to_the_fee_payer_account,
    keyed_creates_make_one_account,
);

/// The sum of two assets' available balances, from one page.
async fn sum(app: &TestApp, a: &Value, b: &Value) -> rust_decimal::Decimal {
    let page = app.data("{ accounts(first: 500) { nodes { assets { id balance { available } } } } }", json!({})).await;
    let nodes = page["accounts"]["nodes"].as_array().unwrap();
    let assets = nodes.iter().flat_map(|n| n["assets"].as_array().unwrap().clone());
    assets
        .filter(|x| &x["id"] == a || &x["id"] == b)
        .map(|x| x["balance"]["available"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opposite_transfers_in_parallel_never_deadlock_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let ((_, a), (_, b)) = pair(&app, "1000.00", "1000.00").await;
    let before = sum(&app, &a, &b).await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (app, a, b) = (app.clone(), a.clone(), b.clone());
            tokio::spawn(async move {
                let (from, to) = if i % 2 == 0 { (a, b) } else { (b, a) };
                let input = json!({"idempotencyKey": format!("p-{i}"), "fromAssetId": from, "toAssetId": to, "amount": format!("{}.01", i + 1)});
                app.gql(TRANSFER, json!({"i": input})).await
            })
        })
        .collect();
    for t in tasks {
        let body = t.await.unwrap();
        assert!(body.get("errors").is_none(), "no deadlock or error: {body}");
    }
    assert_eq!(sum(&app, &a, &b).await, before, "money is neither made nor lost");
    let n = app.data("{ transfers { totalCount } }", json!({})).await;
    assert_eq!(n["transfers"]["totalCount"], 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_replays_of_one_key_make_one_transfer_on_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let ((_, a), (_, b)) = pair(&app, "100.00", "0").await;
    let app = std::sync::Arc::new(app);
    let input = json!({"idempotencyKey": "same", "fromAssetId": a, "toAssetId": b, "amount": "1.00"});
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (app, input) = (app.clone(), input.clone());
            tokio::spawn(async move { app.gql(TRANSFER, json!({"i": input})).await })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let body = t.await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        ids.insert(body["data"]["transfer"]["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one transfer");
    assert_eq!(sum(&app, &a, &b).await, "100.00".parse::<rust_decimal::Decimal>().unwrap());
    let page = app.data("{ transfers { totalCount } }", json!({})).await;
    assert_eq!(page["transfers"]["totalCount"], 1);
}
