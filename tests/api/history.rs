//! History: the balance journal, balances at an instant, batched.

use crate::helpers::TestApp;
use crate::mutations_assets::ADJUST;
use serde_json::{json, Value};

const ADD: &str = "mutation($a: UUID!, $i: AddAssetInput!) { addAsset(accountId: $a, input: $i) { id } }";
const JOURNAL: &str = "query { accounts(first: 100) { nodes { assets { id journal(first: 10) { totalCount nodes { at actor cause idempotencyKey deltaAvailable deltaOnHold balance { available onHold total } } } } } } }";
const AT: &str = "query($at: DateTime) { accounts(first: 500) { nodes { assets { id balance(at: $at) { available onHold total } } } } }";

/// The asset `id` out of a page of every account's assets.
fn find(page: &Value, id: &Value) -> Value {
    let nodes = page["accounts"]["nodes"].as_array().cloned().unwrap_or_default();
    let assets = nodes.iter().flat_map(|n| n["assets"].as_array().cloned().unwrap_or_default());
    assets.into_iter().find(|a| &a["id"] == id).unwrap_or(Value::Null)
}

async fn journal(app: &TestApp, asset: &Value) -> Value {
    find(&app.data(JOURNAL, json!({})).await, asset)["journal"].clone()
}

/// One microsecond before `at` (an RFC 3339 instant from the API).
fn just_before(at: &Value) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(at.as_str().unwrap()).unwrap();
    (t - chrono::Duration::microseconds(1)).to_rfc3339()
}

async fn every_balance_change_is_journaled_once(app: TestApp) {
    let acc = app.account_id("acc-ana-main").await;
    let asset = app.data(ADD, json!({"a": acc, "i": {"currency": "EUR", "initialBalance": "10"}})).await["addAsset"]
        ["id"]
        .clone();
    app.data("mutation($id: UUID!) { setAssetStatus(id: $id, status: ACTIVE) { status } }", json!({"id": asset})).await;
    let credit = json!({"a": asset, "i": {"idempotencyKey": "j-1", "available": "5.50", "onHold": "1"}});
    app.data(ADJUST, credit.clone()).await;
    app.data(ADJUST, credit).await;
    let j = journal(&app, &asset).await;
    assert_eq!(j["totalCount"], 2, "a replay writes no row: {j}");
    let (newest, first) = (&j["nodes"][0], &j["nodes"][1]);
    assert_eq!(newest["cause"], "ADJUSTMENT");
    assert_eq!(newest["idempotencyKey"], "j-1");
    assert_eq!(newest["actor"], "key:initial-admin");
    assert_eq!((newest["deltaAvailable"].as_str(), newest["deltaOnHold"].as_str()), (Some("5.50"), Some("1.00")));
    assert_eq!(newest["balance"], json!({"available": "15.50", "onHold": "1.00", "total": "16.50"}));
    assert_eq!(first["cause"], "INITIAL");
    assert_eq!(first["balance"], json!({"available": "10.00", "onHold": "0.00", "total": "10.00"}));

    // As it stood: at each entry, and before the asset existed.
    let at = |t: Value| {
        let (app, asset) = (&app, asset.clone());
        async move { find(&app.data(AT, json!({"at": t})).await, &asset)["balance"].clone() }
    };
    assert_eq!(at(newest["at"].clone()).await["total"], "16.50");
    assert_eq!(at(first["at"].clone()).await["total"], "10.00");
    assert_eq!(at(json!(just_before(&newest["at"]))).await["total"], "10.00");
    assert_eq!(
        at(json!(just_before(&first["at"]))).await,
        json!({"available": "0.00", "onHold": "0.00", "total": "0.00"}),
        "zeros before the asset existed"
    );
    assert_eq!(at(Value::Null).await["total"], "16.50", "no `at`: now");
}

async fn imports_and_seeded_assets_have_journals(app: TestApp) {
    let q = "mutation($rows: [CreateAccountInput!]!) { importAccounts(rows: $rows) { accounts { assets { id } } } }";
    let rows = json!([{"name": "Imported", "type": "PERSONAL", "ownerExternalId": "cli-ana", "assets": [{"currency": "USD", "initialBalance": "7"}]}]);
    let imported = app.data(q, json!({"rows": rows})).await["importAccounts"]["accounts"][0]["assets"][0]["id"].clone();
    let j = journal(&app, &imported).await;
    assert_eq!(j["nodes"][0]["cause"], "IMPORT", "{j}");
    assert_eq!(j["nodes"][0]["balance"]["available"], "7.00");
    let ana = r#"{ accountByExternalId(externalId: "acc-ana-main") { assets { id balance { available } } } }"#;
    let usd = app.data(ana, json!({})).await["accountByExternalId"]["assets"][0].clone();
    let j = journal(&app, &usd["id"]).await;
    assert_eq!(j["totalCount"], 1);
    assert_eq!(j["nodes"][0]["cause"], "INITIAL");
    assert_eq!(j["nodes"][0]["balance"]["available"], usd["balance"]["available"], "the demo data's balance");
}

async fn balances_at_an_instant_cost_the_same_for_5_or_50_accounts(app: TestApp) {
    let q =
        "query($n: Int!, $at: DateTime) { accounts(first: $n) { nodes { assets { balance(at: $at) { total } } } } }";
    let at = chrono::Utc::now().to_rfc3339();
    let cost = |n: i32| {
        let (app, at) = (&app, at.clone());
        async move {
            let before = app.statements().await;
            let d = app.data(q, json!({"n": n, "at": at})).await;
            assert!(d["accounts"]["nodes"].as_array().is_some_and(|a| !a.is_empty()));
            app.statements().await - before
        }
    };
    // The key's first use reads it (PostgreSQL remembers it afterwards).
    app.data("{ __typename }", json!({})).await;
    let (five, fifty) = (cost(5).await, cost(50).await);
    assert_eq!(five, fifty, "balance(at:) is batched like every relation");
}

async fn a_balance_chart_per_hour_and_day(app: TestApp) {
    use chrono::{DurationRound, TimeZone};
    use std::time::Duration;
    let acc = app.account_id("acc-ana-main").await;
    let asset = app.data(ADD, json!({"a": acc, "i": {"currency": "EUR", "initialBalance": "10"}})).await["addAsset"]
        ["id"]
        .clone();
    app.data("mutation($id: UUID!) { setAssetStatus(id: $id, status: ACTIVE) { status } }", json!({"id": asset})).await;
    let t0 = journal(&app, &asset).await["nodes"][0]["at"].clone();
    let t0 = chrono::DateTime::parse_from_rfc3339(t0.as_str().unwrap()).unwrap().with_timezone(&chrono::Utc);
    app.clock.advance(Duration::from_secs(3600));
    app.data(ADJUST, json!({"a": asset, "i": {"idempotencyKey": "h-1", "available": "5"}})).await;
    app.clock.advance(Duration::from_secs(2 * 3600));
    app.data(ADJUST, json!({"a": asset, "i": {"idempotencyKey": "h-2", "available": "1"}})).await;
    // One account's charts: a page of accounts with 1,000-point charts
    // would weigh past the complexity limit before the point limit speaks.
    let q = &format!("query($from: DateTime!, $to: DateTime!, $i: HistoryInterval!) {{ accounts(first: 1, filter: {{id: {{eq: \"{}\"}}}}) {{ nodes {{ assets {{ id balanceHistory(from: $from, to: $to, interval: $i) {{ at balance {{ available }} }} }} }} }} }}", acc.as_str().unwrap());
    let chart = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>, i: &str| {
        let (app, asset, i) = (&app, asset.clone(), i.to_owned());
        async move {
            let page = app.data(q, json!({"from": from.to_rfc3339(), "to": to.to_rfc3339(), "i": i})).await;
            find(&page, &asset)["balanceHistory"].as_array().cloned().unwrap_or_default()
        }
    };
    let hour = chrono::Duration::hours(1);
    let h0 = t0.duration_trunc(hour).unwrap();
    // One point per bucket that starts in [from, to): 11:00 .. 15:00 for
    // [11:00, 16:00), each at its bucket's end, the last one at `to`.
    let points = chart(h0 - hour, h0 + hour * 4, "HOUR").await;
    let values: Vec<&str> = points.iter().map(|p| p["balance"]["available"].as_str().unwrap_or("?")).collect();
    assert_eq!(values, ["0.00", "10.00", "15.00", "15.00", "16.00"], "{points:?}");
    let ats: Vec<i64> = points
        .iter()
        .map(|p| chrono::DateTime::parse_from_rfc3339(p["at"].as_str().unwrap()).unwrap().timestamp())
        .collect();
    let ends: Vec<i64> = (0..5).map(|i| (h0 + hour * i).timestamp()).collect();
    assert_eq!(ats, ends, "points sit on bucket ends, none after `to`");
    // A window that ends inside a bucket: that bucket's point is at `to`.
    let inside = chart(h0, h0 + hour * 2 + chrono::Duration::minutes(30), "HOUR").await;
    assert_eq!(inside.len(), 3, "{inside:?}");
    let last = chrono::DateTime::parse_from_rfc3339(inside[2]["at"].as_str().unwrap()).unwrap();
    assert_eq!(last.timestamp(), (h0 + hour * 2 + chrono::Duration::minutes(30)).timestamp());
    // A window with no bucket start in it has no point.
    assert!(chart(t0, t0 + hour, "DAY").await.is_empty());
    let d0 = chrono::Utc.from_utc_datetime(&t0.date_naive().and_hms_opt(0, 0, 0).unwrap());
    let day = chart(d0, d0 + chrono::Duration::days(1), "DAY").await;
    assert_eq!(day.len(), 1, "{day:?}");
    assert_eq!(day[0]["balance"]["available"], "16.00");
    assert_eq!(
        day[0]["at"].as_str().map(|a| a.starts_with(&(d0 + chrono::Duration::days(1)).format("%Y-%m-%d").to_string())),
        Some(true)
    );

    let vars = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| json!({"from": from.to_rfc3339(), "to": to.to_rfc3339(), "i": "HOUR"});
    let (code, field) = app.error(q, vars(t0, t0 + hour * 1002)).await;
    assert_eq!(
        (code.as_str(), field.as_str()),
        ("VALIDATION_FAILED", "interval"),
        "1,001 points (bucket starts in the window)"
    );
    let (code, field) = app.error(q, vars(t0, t0 - hour)).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "from"));
}

/// A valuation at "now" uses the quote the current valuation just used,
/// even while the quote history has not kept it yet (its writer runs in
/// the background): the history is emptied after the writer kept the
/// quote, so only the live quote can answer.
async fn a_valuation_at_now_agrees_with_the_current_one(app: TestApp) {
    use sea_orm::ConnectionTrait;
    let q = r#"{ accountsAggregate(groupBy: [CURRENCY]) { currency { code } usdTotal complete } }"#;
    let now = app.data(q, json!({})).await["accountsAggregate"].clone();
    let btc =
        |groups: &Value| groups.as_array().and_then(|g| g.iter().find(|x| x["currency"]["code"] == "BTC").cloned());
    let current = btc(&now).expect("a BTC group");
    assert_eq!(current["complete"], true, "{current}");
    crate::services::wait_until("the BTC quote kept", std::time::Duration::from_secs(10), || async {
        let n = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                app.db.get_database_backend(),
                "SELECT COUNT(*) FROM quote_history WHERE currency = 'BTC'".to_owned(),
            ))
            .await;
        n.ok().flatten().and_then(|r| r.try_get_by_index::<i64>(0).ok()).unwrap_or(0) > 0
    })
    .await;
    app.db.execute_unprepared("DELETE FROM quote_history").await.unwrap();
    let at = app.clock.now().to_rfc3339();
    let q_at = r#"query($at: DateTime) { accountsAggregate(groupBy: [CURRENCY], at: $at) { currency { code } usdTotal complete } }"#;
    let then = app.data(q_at, json!({"at": at})).await["accountsAggregate"].clone();
    assert_eq!(btc(&then), Some(current), "valued as the current valuation is");
}

crate::backend_tests!(
    a_valuation_at_now_agrees_with_the_current_one,
    a_balance_chart_per_hour_and_day,
    every_balance_change_is_journaled_once,
    imports_and_seeded_assets_have_journals,
    balances_at_an_instant_cost_the_same_for_5_or_50_accounts
);

const HISTORY: &str = r#"query($c: String!) { quoteHistory(currency: $c, from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { usdRate timestamp source } }"#;

async fn history_of(app: &TestApp, code: &str) -> Vec<Value> {
    app.data(HISTORY, json!({"c": code})).await["quoteHistory"].as_array().cloned().unwrap_or_default()
}

/// Quotes are kept as the source gives them, and a valuation at an instant
/// uses the balance and the quote of that instant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valued_as_it_stood_with_the_quote_of_then() {
    use crate::quote_server::{Mode, QuoteServer};
    use crate::services::wait_until;
    use std::time::Duration;
    let server = QuoteServer::start().await;
    let flags: Vec<String> = server.flags(1);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::spawn_with(crate::helpers::Backend::Sqlite, &flags).await.unwrap();
    let quote = r#"{ quotes(currencies: ["BTC"]) { usdRate } }"#;
    app.data(quote, json!({})).await;
    wait_until("the first quote to be kept", Duration::from_secs(10), || async {
        history_of(&app, "BTC").await.len() == 1
    })
    .await;
    let acc = app.account_id("acc-mei-usdc").await;
    let asset = app.data(ADD, json!({"a": acc, "i": {"currency": "BTC", "initialBalance": "2"}})).await["addAsset"]
        ["id"]
        .clone();
    let created = journal(&app, &asset).await["nodes"][0]["at"].clone();
    app.clock.advance(Duration::from_millis(1100));
    server.set(Mode::Body(json!({"BTC": "70000"})));
    app.data(quote, json!({})).await;
    wait_until("the second quote to be kept", Duration::from_secs(10), || async {
        history_of(&app, "BTC").await.len() == 2
    })
    .await;
    let kept = history_of(&app, "BTC").await;
    assert_eq!((kept[0]["usdRate"].as_str(), kept[1]["usdRate"].as_str()), (Some("67000.5"), Some("70000")));
    assert_eq!(kept[0]["source"], "http");

    let q = "query($at: DateTime) { accounts(first: 500) { nodes { assets { id valuation(at: $at) { quantity usdValue usdQuoteRate } } } } }";
    let valued = |at: Value| {
        let (app, asset) = (&app, asset.clone());
        async move { find(&app.data(q, json!({"at": at})).await, &asset)["valuation"].clone() }
    };
    let then = valued(created.clone()).await;
    assert_eq!(then, json!({"quantity": "2.00000000", "usdValue": "134001.00", "usdQuoteRate": "67000.5"}));
    let later = valued(kept[1]["timestamp"].clone()).await;
    assert_eq!(later["usdValue"], "140000.00", "the balance then, the quote then");
    let before = valued(json!(just_before(&kept[0]["timestamp"]))).await;
    assert_eq!(before["usdValue"], Value::Null, "no quote yet: no guess");
    let account = "query($id: UUID!, $at: DateTime) { account(id: $id) { balance(at: $at) { complete assets { symbol usdValue } } } }";
    let b = app.data(account, json!({"id": acc, "at": just_before(&kept[0]["timestamp"])})).await;
    assert_eq!(b["account"]["balance"]["complete"], false);

    let (code, field) = app.error(HISTORY, json!({"c": "NOPE"})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "currency"));
    let backwards =
        r#"{ quoteHistory(currency: "BTC", from: "2100-01-01T00:00:00Z", to: "2000-01-01T00:00:00Z") { usdRate } }"#;
    let (code, field) = app.error(backwards, json!({})).await;
    assert_eq!((code.as_str(), field.as_str()), ("VALIDATION_FAILED", "from"));
}
