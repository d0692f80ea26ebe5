//! USD valuation: exact arithmetic, sums over sub-account trees, missing
//! quotes, and the cost of a page with balances.

use crate::helpers::TestApp;
use serde_json::json;

async fn values_and_sums(app: TestApp) {
    let q = r#"query($e: String!) { accountByExternalId(externalId: $e) {
        balance { currency total complete timestamp assets { symbol name decimals quantity usdValue usdQuoteRate usdQuoteTimestamp stale asset { id } } }
        assets { valuation { usdValue } }
        subAccountsBalance { accountCount usdTotal complete byCurrency { currency { code } total available onHold } }
    } }"#;
    let john = app.data(q, json!({"e": "acc-john-crypto"})).await["accountByExternalId"].clone();
    let b = &john["balance"];
    assert_eq!(b["currency"], "USD");
    // 0.51234567 x 67000.5 = 34327.416... ; 2.445678901234567890 x 3456.78 = 8454.1689...
    assert_eq!(b["assets"][0]["usdValue"], "34327.42");
    assert_eq!(b["assets"][0]["quantity"], "0.51234567");
    assert_eq!(b["assets"][1]["usdValue"], "8454.17");
    assert_eq!(b["assets"][1]["quantity"], "2.445678901234567890");
    assert_eq!(b["assets"][1]["decimals"], 18);
    assert_eq!(b["assets"][1]["name"], "Ethereum");
    assert_eq!(b["total"], "42781.59", "the sum of rounded values");
    assert_eq!(b["complete"], true);
    assert_eq!(b["assets"][0]["stale"], false);
    assert_eq!(john["assets"][1]["valuation"]["usdValue"], "8454.17");
    assert_eq!(
        john["subAccountsBalance"],
        json!({"accountCount": 0, "usdTotal": "0.00", "complete": true, "byCurrency": []})
    );

    // Three levels: Acme operating > payroll > payroll Q4, and FX.
    let acme = app.data(q, json!({"e": "acc-acme-ops"})).await["accountByExternalId"].clone();
    let s = &acme["subAccountsBalance"];
    assert_eq!(s["accountCount"], 3);
    assert_eq!(
        s["byCurrency"],
        json!([
            {"currency": {"code": "BRL"}, "total": "10000.00", "available": "10000.00", "onHold": "0.00"},
            {"currency": {"code": "USD"}, "total": "37500.50", "available": "37500.50", "onHold": "0.00"}
        ])
    );
    assert_eq!(s["usdTotal"], "39400.50");
    let ana = app.data(q, json!({"e": "acc-ana-main"})).await["accountByExternalId"].clone();
    assert_eq!(ana["subAccountsBalance"]["usdTotal"], "5864.00");
    assert_eq!(ana["balance"]["total"], "2148.75");

    // A currency nobody quotes: null value, incomplete valuation.
    app.data(r#"mutation { createCurrency(input: {code: "XYZ", name: "Nothing", symbol: "X", type: FIAT, decimals: 2}) { code } }"#, json!({})).await;
    let id = app.account_id("acc-ana-main").await;
    let a = app
        .data(
            r#"mutation($a: UUID!) { addAsset(accountId: $a, input: {currency: "XYZ", initialBalance: "5"}) { id } }"#,
            json!({"a": id}),
        )
        .await;
    assert!(a["addAsset"]["id"].is_string());
    let again = app.data(q, json!({"e": "acc-ana-main"})).await["accountByExternalId"]["balance"].clone();
    assert_eq!(again["complete"], false);
    assert_eq!(again["total"], "2148.75");
    assert_eq!(again["assets"][2]["usdValue"], serde_json::Value::Null);
    assert_eq!(again["assets"][2]["usdQuoteRate"], serde_json::Value::Null);
    let quotes = app
        .data(r#"{ quotes(currencies: ["eth", "USD", "XYZ", "ETH"]) { currency usdRate source stale } }"#, json!({}))
        .await;
    assert_eq!(
        quotes["quotes"],
        json!([{"currency": "ETH", "usdRate": "3456.78", "source": "demo-file", "stale": false}, {"currency": "USD", "usdRate": "1", "source": "fixed", "stale": false}])
    );
}

async fn large_amounts_stay_exact(app: TestApp) {
    let asset = crate::mutations_assets::active_asset(&app, "acc-acme-ops", "ETH", "0").await;
    let adj = crate::mutations_assets::ADJUST;
    app.data(adj, json!({"a": asset, "i": {"idempotencyKey": "big", "available": "123456.123456789012345678"}})).await;
    let d = app.data(r#"{ accountByExternalId(externalId: "acc-acme-ops") { balance { assets { symbol quantity usdValue } } } }"#, json!({})).await;
    let eth = d["accountByExternalId"]["balance"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["symbol"] == "ETH")
        .unwrap()
        .clone();
    assert_eq!(eth["quantity"], "123456.123456789012345678");
    // 123456.123456789012345678 x 3456.78, exactly, then half-even to cents.
    assert_eq!(eth["usdValue"], "426760658.44");
    let usd = app
        .data(r#"{ accountByExternalId(externalId: "acc-acme-ops") { assets { id currency { code } } } }"#, json!({}))
        .await;
    let usd_id = usd["accountByExternalId"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["currency"]["code"] == "USD")
        .unwrap()["id"]
        .clone();
    app.data(adj, json!({"a": usd_id, "i": {"idempotencyKey": "huge", "available": "999999999999999999999.99"}})).await;
    let d = app
        .data(
            r#"{ accountByExternalId(externalId: "acc-acme-ops") { balance { total assets { symbol usdValue } } } }"#,
            json!({}),
        )
        .await;
    let usd = d["accountByExternalId"]["balance"]["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["symbol"] == "USD")
        .unwrap()
        .clone();
    assert_eq!(usd["usdValue"], "1000000000000000127499.99", "125000.00 + 2500.00 held + the deposit");
}

crate::backend_tests!(values_and_sums, large_amounts_stay_exact);
