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
        let vars =
            json!({"a": asset, "i": {"idempotencyKey": format!("p{i}"), "available": "0.00000001", "onHold": "1.1"}});
        // Fifty writers queue on one row with a pool of eight; on a loaded
        // machine a writer may wait past the pool's 1 s and be told
        // UNAVAILABLE. A client retries with the same idempotency key (the
        // README's advice), and the sum must still be exact.
        async move {
            let mut answer = app.gql(ADJUST, vars.clone()).await;
            for _ in 0..20 {
                if crate::helpers::first_code(&answer) != "UNAVAILABLE" {
                    break;
                }
                answer = app.gql(ADJUST, vars.clone()).await;
            }
            answer
        }
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
    // Found by the check or by the unique index (the driver's constraint
    // name on PostgreSQL), the loser hears which field: never a bare CONFLICT.
    let loser = results.iter().find(|r| r.get("errors").is_some()).unwrap();
    assert_eq!(loser["errors"][0]["extensions"]["details"][0]["field"], "input.externalId", "{loser:#}");
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

const CREATE: &str = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }";
const DELETE: &str = "mutation($id: UUID!) { deleteAccount(id: $id) { status } }";

async fn new_account(app: &TestApp, name: String, parent: Option<&serde_json::Value>) -> serde_json::Value {
    let i = json!({"name": name, "type": "PERSONAL", "ownerExternalId": "cli-ana", "parentId": parent});
    app.data(CREATE, json!({"i": i})).await["createAccount"]["id"].clone()
}

/// 50 pairs of (create a sub-account, delete its parent) at once: for each
/// pair exactly one wins, and no live child is left under a deleted parent.
async fn sub_account_creation_races_parent_deletion(app: TestApp) {
    let mut parents = Vec::new();
    for i in 0..50 {
        parents.push(new_account(&app, format!("Parent {i}"), None).await);
    }
    let pairs = parents.iter().enumerate().map(|(i, p)| {
        let app = &app;
        async move {
            let child = json!({"i": {"name": format!("Child {i}"), "type": "PERSONAL", "ownerExternalId": "cli-ana", "parentId": p}});
            futures_util::join!(app.gql(CREATE, child), app.gql(DELETE, json!({"id": p})))
        }
    });
    for (created, deleted) in join_all(pairs).await {
        let wins = [&created, &deleted].iter().filter(|r| r.get("errors").is_none()).count();
        assert_eq!(wins, 1, "exactly one of the pair wins: {created} {deleted}");
        for r in [&created, &deleted].iter().filter(|r| r.get("errors").is_some()) {
            assert_eq!(crate::helpers::first_code(r), "NOT_ALLOWED", "{r}");
        }
    }
    let q = "query($id: UUID!) { account(id: $id) { status subAccounts { nodes { status } } } }";
    for p in &parents {
        let a = app.data(q, json!({"id": p})).await["account"].clone();
        let live =
            a["subAccounts"]["nodes"].as_array().map_or(0, |n| n.iter().filter(|c| c["status"] != "DELETED").count());
        assert!(!(a["status"] == "DELETED" && live > 0), "a live child under a deleted parent: {a}");
    }
}

/// 50 pairs of (credit an empty asset, delete its account) at once: a
/// deleted account never ends up holding a balance.
async fn balance_changes_race_account_deletion(app: TestApp) {
    let mut assets = Vec::new();
    for i in 0..50 {
        let ext = format!("race-del-{i}");
        let i = json!({"name": ext, "type": "PERSONAL", "ownerExternalId": "cli-ana", "externalId": ext});
        app.data(CREATE, json!({"i": i})).await;
        let asset = active_asset(&app, &ext, "EUR", "0").await;
        assets.push((app.account_id(&ext).await, asset));
    }
    let pairs = assets.iter().enumerate().map(|(i, (acc, asset))| {
        let app = &app;
        async move {
            let credit = json!({"a": asset, "i": {"idempotencyKey": format!("race-{i}"), "available": "5"}});
            futures_util::join!(app.gql(ADJUST, credit), app.gql(DELETE, json!({"id": acc})))
        }
    });
    for (adjusted, deleted) in join_all(pairs).await {
        let wins = [&adjusted, &deleted].iter().filter(|r| r.get("errors").is_none()).count();
        assert_eq!(wins, 1, "exactly one of the pair wins: {adjusted} {deleted}");
    }
    let q = "query($id: UUID!) { account(id: $id) { status assets { balance { available } } } }";
    for (acc, _) in &assets {
        let a = app.data(q, json!({"id": acc})).await["account"].clone();
        let held = a["assets"][0]["balance"]["available"] != "0.00";
        assert!(!(a["status"] == "DELETED" && held), "a deleted account holds a balance: {a}");
    }
}

crate::backend_tests!(
    fifty_first_system_accounts_on_a_fresh_organization,
    parallel_adjustments_sum_exactly,
    parallel_replays_apply_once,
    parallel_status_changes_all_count,
    parallel_creates_with_one_external_id,
    concurrent_system_account_is_one,
    sub_account_creation_races_parent_deletion,
    balance_changes_race_account_deletion
);

/// The interleaving the 50 pairs rarely hit, forced: a deletion holds the
/// parent's row lock; a sub-account creation must wait for it (seen in
/// `pg_stat_activity`) and then refuse, instead of reading the parent as
/// live and inserting beside the deletion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sub_account_creation_waits_for_a_deletion_in_flight() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let Some(app) = TestApp::spawn(crate::helpers::Backend::Postgres).await else { return };
    let parent = new_account(&app, "Parent".into(), None).await;
    let pid = parent.as_str().unwrap().to_owned();
    let deletion = app.db.begin().await.unwrap();
    deletion.execute_unprepared(&format!("SELECT id FROM accounts WHERE id = '{pid}' FOR UPDATE")).await.unwrap();
    let create = {
        let (app_base, key) = (app.base.clone(), app.key.clone());
        let i = json!({"name": "Child", "type": "PERSONAL", "ownerExternalId": "cli-ana", "parentId": pid});
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(format!("{app_base}/graphql"))
                .header("x-api-key", key)
                .json(&json!({"query": CREATE, "variables": {"i": i}}))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    };
    let waiting =
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%accounts%'";
    let db = app.db.clone();
    crate::services::wait_until(
        "the creation to wait on the parent's lock",
        std::time::Duration::from_secs(10),
        || {
            let db = db.clone();
            async move {
                let row = db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), waiting)).await;
                row.ok().flatten().and_then(|r| r.try_get::<i64>("", "n").ok()).unwrap_or(0) > 0
            }
        },
    )
    .await;
    deletion
        .execute_unprepared(&format!("UPDATE accounts SET status = 'DELETED', deleted_at = now() WHERE id = '{pid}'"))
        .await
        .unwrap();
    deletion.commit().await.unwrap();
    let answer = create.await.unwrap();
    assert_eq!(crate::helpers::first_code(&answer), "NOT_ALLOWED", "{answer}");
}
