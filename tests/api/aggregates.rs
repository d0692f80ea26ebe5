//! accountsAggregate: groups, exact per-currency sums, the same filter as
//! `accounts`, and totals as they stood at an instant.

use crate::helpers::TestApp;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

const AGG: &str = "query($f: AccountFilter, $g: [AccountGroupKey!], $at: DateTime) { accountsAggregate(filter: $f, groupBy: $g, at: $at) { type { code } status kind owner { name } project { name } currency { code } createdPeriod accountCount byCurrency { currency { code } available onHold total } usdTotal complete } }";

async fn groups(app: &TestApp, filter: Value, keys: Value, at: Value) -> Vec<Value> {
    let d = app.data(AGG, json!({"f": filter, "g": keys, "at": at})).await;
    d["accountsAggregate"].as_array().cloned().unwrap_or_default()
}

fn dec(v: &Value) -> Decimal {
    Decimal::from_str(v.as_str().unwrap_or("0")).unwrap_or_default()
}

/// Per currency code: (available, on hold), summed from a page of accounts.
async fn by_hand(app: &TestApp, filter: Value) -> (i64, BTreeMap<String, (Decimal, Decimal)>) {
    let q = "query($f: AccountFilter) { accounts(first: 500, filter: $f) { totalCount nodes { assets { currency { code } balance { available onHold } } } } }";
    let d = app.data(q, json!({"f": filter})).await;
    let mut sums: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
    for n in d["accounts"]["nodes"].as_array().cloned().unwrap_or_default() {
        for a in n["assets"].as_array().cloned().unwrap_or_default() {
            let e = sums.entry(a["currency"]["code"].as_str().unwrap_or("").to_owned()).or_default();
            e.0 += dec(&a["balance"]["available"]);
            e.1 += dec(&a["balance"]["onHold"]);
        }
    }
    (d["accounts"]["totalCount"].as_i64().unwrap_or(-1), sums)
}

fn sums_of(group: &Value) -> BTreeMap<String, (Decimal, Decimal)> {
    group["byCurrency"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| (c["currency"]["code"].as_str().unwrap_or("").to_owned(), (dec(&c["available"]), dec(&c["onHold"]))))
        .collect()
}

async fn totals_match_the_accounts_they_group(app: TestApp) {
    let all = groups(&app, Value::Null, json!([]), Value::Null).await;
    assert_eq!(all.len(), 1, "no keys: one group");
    let (count, sums) = by_hand(&app, Value::Null).await;
    assert_eq!(all[0]["accountCount"], count);
    assert_eq!(sums_of(&all[0]), sums, "exact per-currency sums");
    assert_eq!(all[0]["complete"], true);
    assert!(dec(&all[0]["usdTotal"]) > Decimal::ZERO);

    let clients = json!({"kind": "CLIENT"});
    let by_status = groups(&app, clients.clone(), json!(["STATUS"]), Value::Null).await;
    for g in &by_status {
        let filter = json!({"kind": "CLIENT", "status": [g["status"]]});
        let (count, sums) = by_hand(&app, filter).await;
        assert_eq!(g["accountCount"], count, "{g}");
        assert_eq!(sums_of(g), sums, "{g}");
        assert_eq!(g["type"], Value::Null, "keys not grouped by are null");
    }
    let total: i64 = by_status.iter().map(|g| g["accountCount"].as_i64().unwrap_or(0)).sum();
    assert_eq!(total, by_hand(&app, clients.clone()).await.0);

    let by_type_currency = groups(&app, Value::Null, json!(["TYPE", "CURRENCY"]), Value::Null).await;
    assert!(by_type_currency.iter().all(|g| g["type"]["code"].is_string()));
    for g in by_type_currency.iter().filter(|g| g["currency"].is_object()) {
        let rows = g["byCurrency"].as_array().cloned().unwrap_or_default();
        assert_eq!(rows.len(), 1, "grouped by currency: that currency only: {g}");
        assert_eq!(rows[0]["currency"]["code"], g["currency"]["code"]);
    }
    let by_owner = groups(&app, clients, json!(["OWNER"]), Value::Null).await;
    assert!(by_owner.iter().any(|g| g["owner"]["name"] == "Ana Souza"));
    let by_month = groups(&app, Value::Null, json!(["CREATED_MONTH"]), Value::Null).await;
    for g in &by_month {
        let p = chrono::DateTime::parse_from_rfc3339(g["createdPeriod"].as_str().unwrap()).unwrap();
        assert_eq!(p.format("%d %H:%M:%S").to_string(), "01 00:00:00", "{g}");
    }
    let months: i64 = by_month.iter().map(|g| g["accountCount"].as_i64().unwrap_or(0)).sum();
    assert_eq!(months, by_hand(&app, Value::Null).await.0);
}

async fn totals_as_they_stood(app: TestApp) {
    let long_ago = groups(&app, Value::Null, json!([]), json!("2000-01-01T00:00:00Z")).await;
    assert!(long_ago.iter().all(|g| g["accountCount"] == 0), "nothing existed then: {long_ago:?}");
    let acc = app.account_id("acc-mei-usdc").await;
    let add = "mutation($a: UUID!, $i: AddAssetInput!) { addAsset(accountId: $a, input: $i) { id } }";
    let now = groups(&app, Value::Null, json!([]), json!(app.clock.now().to_rfc3339())).await;
    app.clock.advance(std::time::Duration::from_secs(60));
    app.data(add, json!({"a": acc, "i": {"currency": "EUR", "initialBalance": "1000"}})).await;
    let later = groups(&app, Value::Null, json!([]), Value::Null).await;
    let eur = |g: &Value| sums_of(g).get("EUR").map(|s| s.0).unwrap_or_default();
    assert_eq!(eur(&later[0]) - eur(&now[0]), Decimal::from(1000), "the new balance counts now, not then");
    assert_eq!(now[0]["accountCount"], later[0]["accountCount"]);
}

crate::backend_tests!(totals_match_the_accounts_they_group, totals_as_they_stood);
