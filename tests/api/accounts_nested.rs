//! Every nested field of Account, Client, Asset, Wallet, SmartCard,
//! Currency and Network, and the single-account lookups.

use crate::helpers::TestApp;
use serde_json::json;

pub const ACCOUNT: &str = r#"query($e: String!) { accountByExternalId(externalId: $e) {
  id uid accountNumber name alias kind systemRole status
  statusReason { code description changedAt }
  type { code name category createdAt }
  externalId productId allowSending allowReceiving main accounting custody
  custodyBankAccount { accountNumber bank currency typeAccount country }
  metadata version createdAt updatedAt deletedAt
  project { id name createdAt }
  owner { id externalId name email kind createdAt accounts { totalCount } }
  parent { name }
  subAccounts { totalCount nodes { name parent { name } subAccounts { nodes { name } } } }
  assets { id status address externalId bank platform createdAt updatedAt
    account { name }
    currency { code name symbol type decimals networks { code name addressPattern currencies { code } } }
    balance { total available onHold future creditLimit scale }
    wallets { id address active createdAt network { code } asset { currency { code } } } }
  inactive: assets(status: INACTIVE) { id }
  addresses
  smartCards { id name maskedNumber last4 expirationDate expirationStatus active createdAt }
} }"#;

async fn every_nested_field(app: TestApp) {
    let ana = app.data(ACCOUNT, json!({"e": "acc-ana-main"})).await["accountByExternalId"].clone();
    assert_eq!(ana["name"], "Ana personal");
    assert_eq!(ana["alias"], "ana");
    assert_eq!(ana["kind"], "CLIENT");
    assert_eq!(ana["systemRole"], serde_json::Value::Null);
    assert_eq!(ana["status"], "ACTIVE");
    assert_eq!(ana["type"]["code"], "PERSONAL");
    assert_eq!(ana["main"], true);
    assert_eq!(ana["version"], 1);
    assert_eq!(ana["metadata"], json!({"segment": "retail", "tier": 1, "vip": false}));
    assert_eq!(ana["project"]["name"], "Retail");
    assert_eq!(ana["owner"]["name"], "Ana Souza");
    assert_eq!(ana["owner"]["kind"], "PERSON");
    assert_eq!(ana["owner"]["accounts"]["totalCount"], 3);
    assert_eq!(ana["parent"], serde_json::Value::Null);
    assert_eq!(ana["subAccounts"]["nodes"][0]["name"], "Ana savings");
    assert_eq!(ana["subAccounts"]["nodes"][0]["parent"]["name"], "Ana personal");
    assert_eq!(ana["subAccounts"]["nodes"][0]["subAccounts"]["nodes"][0]["name"], "Ana vacation fund");
    let usd = &ana["assets"][0];
    assert_eq!(usd["currency"]["code"], "USD");
    assert_eq!(usd["currency"]["type"], "FIAT");
    assert_eq!(usd["account"]["name"], "Ana personal");
    assert_eq!(usd["address"], "DE89370400440532013000");
    assert_eq!(
        usd["balance"],
        json!({"total": "1540.75", "available": "1520.75", "onHold": "20.00", "future": "0.00", "creditLimit": "0.00", "scale": 2})
    );
    assert_eq!(ana["inactive"], json!([]));
    let cards = ana["smartCards"].as_array().unwrap();
    assert_eq!(cards.len(), 2);
    assert!(cards[0]["maskedNumber"].as_str().unwrap().starts_with("**** **** **** "));
    assert_eq!(cards[0]["last4"].as_str().unwrap().len(), 4);
    assert_eq!(cards[0]["expirationStatus"], "ACTIVE");
    assert_eq!(cards[1]["expirationStatus"], "EXPIRED");

    let john = app.data(ACCOUNT, json!({"e": "acc-john-crypto"})).await["accountByExternalId"].clone();
    let eth = john["assets"].as_array().unwrap().iter().find(|a| a["currency"]["code"] == "ETH").unwrap().clone();
    assert_eq!(eth["balance"]["available"], "2.345678901234567890", "18 decimals stay exact");
    assert_eq!(eth["balance"]["total"], "2.445678901234567890");
    assert_eq!(eth["balance"]["scale"], 18);
    let nets: Vec<&str> =
        eth["wallets"].as_array().unwrap().iter().map(|w| w["network"]["code"].as_str().unwrap()).collect();
    assert_eq!(nets, vec!["ethereum", "polygon"]);
    assert_eq!(eth["wallets"][0]["asset"]["currency"]["code"], "ETH");
    assert_eq!(eth["currency"]["networks"][0]["code"], "ethereum");
    assert_eq!(eth["currency"]["networks"][0]["currencies"], json!([{"code": "ETH"}, {"code": "USDC"}]));
    assert_eq!(john["addresses"].as_array().unwrap().len(), 3);
    assert!(john["addresses"].as_array().unwrap().contains(&json!("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")));
    assert_eq!(john["smartCards"][0]["expirationStatus"], "EXPIRING_SOON");

    let payroll_q4 = app
        .data(
            r#"{ accounts(filter: {search: "Acme payroll Q4"}) { nodes { parent { name parent { name } } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(payroll_q4["accounts"]["nodes"][0]["parent"]["parent"]["name"], "Acme operating");

    let river = app.data(ACCOUNT, json!({"e": "acc-river-settle"})).await["accountByExternalId"].clone();
    assert_eq!(river["status"], "BLOCKED");
    assert_eq!(river["statusReason"]["code"], "other");
    let system = app.data(r#"{ accounts(filter: {kind: SYSTEM}, orderBy: {field: UID, direction: ASC}) { nodes { systemRole owner { id } accounting } } }"#, json!({})).await;
    assert_eq!(system["accounts"]["nodes"][0]["systemRole"], "OMNIBUS");
    assert_eq!(system["accounts"]["nodes"][0]["owner"], serde_json::Value::Null);
}

async fn lookups_and_not_found(app: TestApp) {
    let ana = app.data(ACCOUNT, json!({"e": "acc-ana-main"})).await["accountByExternalId"].clone();
    let q = r#"query($id: UUID!, $n: String!) {
        byId: account(id: $id) { name }
        byAlias: accountByAlias(alias: "ana") { name }
        byNumber: accountByNumber(accountNumber: $n) { name }
        missing: account(id: "0190b1c2-0000-7000-8000-000000000000") { name }
        missingAlias: accountByAlias(alias: "nobody") { name }
        client(id: $id) { name }
    }"#;
    let d = app.data(q, json!({"id": ana["id"], "n": ana["accountNumber"]})).await;
    assert_eq!(d["byId"]["name"], "Ana personal");
    assert_eq!(d["byAlias"]["name"], "Ana personal");
    assert_eq!(d["byNumber"]["name"], "Ana personal");
    assert_eq!(d["missing"], serde_json::Value::Null);
    assert_eq!(d["missingAlias"], serde_json::Value::Null);
    assert_eq!(d["client"], serde_json::Value::Null, "an account id is no client id");
    let owner = app
        .data(
            "query($id: UUID!) { client(id: $id) { name accounts { nodes { name } } } }",
            json!({"id": ana["owner"]["id"]}),
        )
        .await;
    assert_eq!(owner["client"]["name"], "Ana Souza");
}

async fn catalog_and_viewer(app: TestApp) {
    let d = app
        .data("{ viewer { organization { id name } role subject } accountTypes { code } currencies { code decimals } networks { code } projects { name } }", json!({}))
        .await;
    assert_eq!(d["viewer"]["organization"]["name"], "demo");
    assert_eq!(d["viewer"]["role"], "ADMIN");
    assert_eq!(d["accountTypes"].as_array().unwrap().len(), 7);
    let codes: Vec<&str> = d["currencies"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, vec!["BRL", "BTC", "ETH", "EUR", "USD", "USDC"]);
    assert_eq!(d["networks"].as_array().unwrap().len(), 4);
    assert_eq!(d["projects"], json!([{"name": "Retail"}, {"name": "Treasury"}]));
}

/// Fragments, aliases, `__typename` and `@skip`/`@include` on a prefetched
/// account: merged as the spec says, in the order the query selects them.
async fn fragments_aliases_and_directives(app: TestApp) {
    let q = r#"query($yes: Boolean!) {
      accountByExternalId(externalId: "acc-john-crypto") {
        __typename
        ...Names
        ... on Account { uid }
        ... @include(if: $yes) { status }
        ... @skip(if: $yes) { kind }
        n2: name
        owner @skip(if: $yes) { externalId }
        owner { __typename email }
        first: assets { currency { code } ...Held }
        subAccounts(first: 1) { nodes { __typename ... on Account { name } } }
      }
    }
    fragment Names on Account { name owner { name } }
    fragment Held on Asset { currency { decimals } balance { total } }"#;
    let body = app.http.post(format!("{}/graphql", app.base)).json(&json!({"query": q, "variables": {"yes": true}}));
    let text = body.send().await.unwrap().text().await.unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(d.get("errors").is_none(), "{text}");
    let a = &d["data"]["accountByExternalId"];
    assert_eq!(a["__typename"], "Account");
    assert_eq!(a["name"], a["n2"]);
    assert_eq!(a["owner"]["__typename"], "Client");
    assert!(a["owner"]["name"].is_string() && a["owner"]["email"].is_string(), "merged owner: {a}");
    assert!(a["owner"].get("externalId").is_none() && a.get("kind").is_none(), "skipped: {a}");
    assert!(a["uid"].is_number() && a["status"].is_string(), "{a}");
    let asset = &a["first"][0];
    assert!(asset["currency"]["code"].is_string() && asset["currency"]["decimals"].is_number(), "{asset}");
    assert!(asset["balance"]["total"].is_string(), "{asset}");
    assert!(a["subAccounts"]["nodes"].as_array().is_some(), "{a}");
    // Keys in selection order (the first place each response key appears).
    let keys =
        ["__typename", "\"name\"", "\"owner\"", "\"uid\"", "\"status\"", "\"n2\"", "\"first\"", "\"subAccounts\""];
    let at: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap_or(usize::MAX)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "order {at:?} in {text}");
}

crate::backend_tests!(every_nested_field, lookups_and_not_found, catalog_and_viewer, fragments_aliases_and_directives);
