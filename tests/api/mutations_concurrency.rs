//! Concurrent writers never lose an update.

use crate::helpers::TestApp;
use crate::mutations_assets::{active_asset, ADJUST};
use accounts_gateway::domain::Role;
use futures_util::future::join_all;
use serde_json::json;

async fn parallel_adjustments_sum_exactly(app: TestApp) {
    let asset = active_asset(&app, "acc-acme-ops", "BTC", "0").await;
    let calls = (0..50).map(|i| {
        let app = &app;
        let asset = asset.clone();
        async move { app.gql(ADJUST, json!({"a": asset, "i": {"idempotencyKey": format!("p{i}"), "available": "0.00000001", "onHold": "1.1"}})).await }
    });
    let results = join_all(calls).await;
    for r in &results {
        assert!(r.get("errors").is_none(), "{r:#}");
    }
    let d = app.data("query($id: UUID!) { auditEvents(filter: {entityId: $id, action: \"asset.balance_adjusted\"}) { totalCount } }", json!({"id": asset})).await;
    assert_eq!(d["auditEvents"]["totalCount"], 50);
    let acme = app.data(r#"{ accountByExternalId(externalId: "acc-acme-ops") { assets { currency { code } balance { available onHold } } } }"#, json!({})).await;
    let btc = acme["accountByExternalId"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["currency"]["code"] == "BTC")
        .unwrap()
        .clone();
    assert_eq!(btc["balance"], json!({"available": "0.00000050", "onHold": "55.00000000"}));
}

async fn parallel_replays_apply_once(app: TestApp) {
    let asset = active_asset(&app, "acc-acme-ops", "BTC", "0").await;
    let calls =
        (0..20).map(|_| app.gql(ADJUST, json!({"a": asset, "i": {"idempotencyKey": "same", "available": "1"}})));
    let results = join_all(calls).await;
    for r in &results {
        assert_eq!(r["data"]["adjustBalance"]["balance"]["available"], "1.00000000", "{r:#}");
    }
}

async fn parallel_status_changes_all_count(app: TestApp) {
    let id = app.account_id("acc-ana-main").await;
    let q = "mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { version } }";
    let calls = (0..50).map(|i| {
        let status = if i % 2 == 0 { "ACTIVE" } else { "INACTIVE" };
        app.gql(q, json!({"id": id, "s": status}))
    });
    let results = join_all(calls).await;
    for r in &results {
        assert!(r.get("errors").is_none(), "{r:#}");
    }
    let d = app
        .data(r#"query($id: UUID!) { account(id: $id) { version } auditEvents(filter: {entityId: $id, action: "account.status_changed"}) { totalCount } }"#, json!({"id": id}))
        .await;
    assert_eq!(d["account"]["version"], 51);
    assert_eq!(d["auditEvents"]["totalCount"], 50);
}

async fn parallel_creates_with_one_external_id(app: TestApp) {
    let q = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }";
    let input =
        json!({"i": {"name": "Race", "type": "PERSONAL", "ownerExternalId": "cli-ana", "externalId": "race-1"}});
    let results = join_all((0..2).map(|_| app.gql(q, input.clone()))).await;
    let ok = results.iter().filter(|r| r.get("errors").is_none()).count();
    let conflicts = results.iter().filter(|r| crate::helpers::first_code(r) == "CONFLICT").count();
    assert_eq!((ok, conflicts), (1, 1), "{results:#?}");
    let d = app.data(r#"{ accounts(filter: {externalId: {eq: "race-1"}}) { totalCount } }"#, json!({})).await;
    assert_eq!(d["accounts"]["totalCount"], 1);
}

async fn concurrent_system_account_is_one(app: TestApp) {
    let q = r#"mutation { systemAccount(role: RESERVE, currency: "EUR") { id } }"#;
    let results = join_all((0..100).map(|_| app.gql(q, json!({})))).await;
    let ids: std::collections::HashSet<String> =
        results.iter().map(|r| r["data"]["systemAccount"]["id"].as_str().unwrap_or("error").to_owned()).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(!ids.contains("error"));
    let d = app.data(r#"{ accounts(filter: {kind: SYSTEM}) { totalCount } }"#, json!({})).await;
    assert_eq!(d["accounts"]["totalCount"], 4);
}

/// 50 first calls on an organization that has neither the SYSTEM type nor
/// the account: every one answers, all with the same account.
async fn fifty_first_system_accounts_on_a_fresh_organization(app: TestApp) {
    let (_, key) = accounts_gateway::service::api_keys::create(&app.db, "fresh", Role::Admin, "k").await.unwrap();
    let q = "mutation { systemAccount(role: FEE_PAYER) { id kind type { code } } }";
    let calls = (0..50).map(|_| {
        let (app, key) = (&app, key.clone());
        async move {
            let resp = app.http.post(format!("{}/graphql", app.base)).header("x-api-key", key);
            resp.json(&json!({"query": q})).send().await.unwrap().json::<serde_json::Value>().await.unwrap()
        }
    });
    let results = join_all(calls).await;
    let first = results[0]["data"]["systemAccount"].clone();
    for r in &results {
        assert!(r.get("errors").is_none(), "{r:#}");
        assert_eq!(r["data"]["systemAccount"], first);
    }
    assert_eq!(first["type"]["code"], "SYSTEM");
}

crate::backend_tests!(
    fifty_first_system_accounts_on_a_fresh_organization,
    parallel_adjustments_sum_exactly,
    parallel_replays_apply_once,
    parallel_status_changes_all_count,
    parallel_creates_with_one_external_id,
    concurrent_system_account_is_one
);
