//! The N+1 guard: a nested page costs the same, small number of SQL
//! statements whatever its size.

use crate::helpers::TestApp;
use accounts_gateway::service::seed;
use serde_json::json;

const NESTED: &str = r#"query($n: Int!) { accounts(first: $n, filter: {search: "Account "}) { nodes {
  id name
  owner { name email }
  type { code }
  project { name }
  parent { name }
  assets { balance { total } currency { code decimals } wallets { address network { code } } }
  smartCards { last4 expirationStatus }
  subAccounts { nodes { name } }
} } }"#;

/// The page of BENCHMARKS.md's side-by-side run (owner, type, assets with
/// wallets, cards, sub-accounts).
const YARDSTICK: &str = r#"query($n: Int!) { accounts(first: $n, orderBy: {field: UID, direction: ASC}) { nodes {
  uid name status owner { name email } type { code }
  assets { currency { code } balance { available onHold } wallets { address network { code } } }
  smartCards { last4 expirationDate } subAccounts(first: 5) { nodes { uid name } } } } }"#;

/// The statements each size of `query`'s page costs, API-key lookup included.
async fn statements_by_size(app: &TestApp, query: &str) -> Vec<u64> {
    let mut counts = Vec::new();
    for n in [5, 50, 500] {
        let before = app.statements().await;
        let data = app.data(query, json!({"n": n})).await;
        let after = app.statements().await;
        assert_eq!(data["accounts"]["nodes"].as_array().unwrap().len(), n);
        counts.push(after - before);
    }
    counts
}

/// Statements a request spends on its (already used) API key: PostgreSQL
/// remembers keys between requests (src/auth/key_cache.rs), SQLite reads it.
fn key_lookups(app: &TestApp) -> u64 {
    u64::from(app.db.get_database_backend() == sea_orm::DatabaseBackend::Sqlite)
}

async fn nested_page_costs_constant_statements(app: TestApp) {
    let key = app.store.card_key.clone();
    seed::seed(&app.db, "demo", 600, &key, app.clock.now()).await.unwrap();
    // The key's first use reads it on either backend; later uses are what
    // a page costs.
    app.data("{ __typename }", json!({})).await;
    // Generated accounts all have an owner, a project and assets, and some
    // have parents, cards and wallets, so every relation is loaded.
    let counts = statements_by_size(&app, NESTED).await;
    assert_eq!(counts[0], counts[1], "5 vs 50 accounts: {counts:?}");
    assert_eq!(counts[1], counts[2], "50 vs 500 accounts: {counts:?}");
    assert!(counts[0] <= 10, "at most 10 statements, got {counts:?}");
    // Owners and types come with the page, assets with their wallets: the
    // yardstick page is the page, assets with wallets, cards and
    // sub-accounts, and the API-key lookup on SQLite (PostgreSQL remembers
    // the key).
    let counts = statements_by_size(&app, YARDSTICK).await;
    let auth = key_lookups(&app);
    assert_eq!(counts, [4 + auth; 3], "the yardstick page, authentication included");
}

async fn one_account_is_one_statement_with_its_owner_and_assets(app: TestApp) {
    let query = r#"query($id: UUID!) { account(id: $id) { uid name owner { name email }
      assets { currency { code } balance { available onHold } wallets { address } } balance { total } } }"#;
    let id = app.account_id("acc-john-crypto").await;
    let before = app.statements().await;
    let one = app.data(query, json!({"id": id})).await;
    let after = app.statements().await;
    // The account joined with its owner and assets, the assets' wallets,
    // and the API-key lookup on SQLite.
    assert_eq!(after - before, 2 + key_lookups(&app), "{one}");
    // The same account through a page, which reads each relation apart.
    let page = app
        .data(
            r#"query($id: UUID!) { accounts(filter: {id: {eq: $id}}) { nodes { uid name owner { name email }
              assets { currency { code } balance { available onHold } wallets { address } } balance { total } } } }"#,
            json!({"id": id}),
        )
        .await;
    assert_eq!(one["account"], page["accounts"]["nodes"][0], "one account reads as a page's row does");
    assert!(one["account"]["assets"].as_array().is_some_and(|a| a.len() > 1), "{one}");
    let none = app.data(query, json!({"id": uuid::Uuid::nil()})).await;
    assert!(none["account"].is_null(), "{none}");
}

/// Journals and charts are relations like the others: one load for the
/// page of assets, whatever its size.
async fn journals_and_charts_cost_constant_statements(app: TestApp) {
    let key = app.store.card_key.clone();
    seed::seed(&app.db, "demo", 60, &key, app.clock.now()).await.unwrap();
    app.data("{ __typename }", json!({})).await;
    let to = app.clock.now().to_rfc3339();
    let from = (app.clock.now() - chrono::Duration::days(7)).to_rfc3339();
    let query = r#"query($n: Int!, $from: DateTime!, $to: DateTime!) { accounts(first: $n) { nodes { assets {
      journal(first: 3) { nodes { at balance { available } } } balanceHistory(from: $from, to: $to, interval: DAY) { at balance { available } }
    } } } }"#;
    let mut counts = Vec::new();
    for n in [5, 50] {
        let before = app.statements().await;
        let data = app.data(query, json!({"n": n, "from": from, "to": to})).await;
        counts.push(app.statements().await - before);
        let nodes = data["accounts"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), n);
        let charts = nodes.iter().flat_map(|a| a["assets"].as_array().unwrap().clone());
        assert!(charts.clone().all(|a| a["balanceHistory"].as_array().unwrap().len() == 7), "a point a day");
        assert!(charts.clone().any(|a| !a["journal"]["nodes"].as_array().unwrap().is_empty()), "journals read");
    }
    assert_eq!(counts[0], counts[1], "5 vs 50 accounts: {counts:?}");
}

crate::backend_tests!(
    nested_page_costs_constant_statements,
    one_account_is_one_statement_with_its_owner_and_assets,
    journals_and_charts_cost_constant_statements
);

/// The fields of each object type in an SDL, with the named type of each
/// field (lists and non-null stripped).
fn sdl_fields(sdl: &str) -> std::collections::HashMap<String, std::collections::HashMap<String, String>> {
    let mut types = std::collections::HashMap::new();
    let (mut current, mut in_doc) = (None::<String>, false);
    for line in sdl.lines() {
        let t = line.trim();
        if t.starts_with("\"\"\"") {
            // A one-line doc opens and closes on the same line.
            in_doc = !(in_doc || (t.len() > 3 && t.ends_with("\"\"\"")));
            continue;
        }
        if in_doc || t.starts_with('"') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("type ") {
            current = rest.split_whitespace().next().map(str::to_owned);
            continue;
        }
        if line.starts_with('}') {
            current = None;
            continue;
        }
        let Some(ty) = &current else { continue };
        let name: String = t.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let of = t.rsplit(": ").next().unwrap_or("").trim_matches(|c| matches!(c, '[' | ']' | '!'));
        let of = of.split(|c: char| !(c.is_alphanumeric() || c == '_')).next().unwrap_or("");
        if !name.is_empty() {
            types.entry(ty.clone()).or_insert_with(std::collections::HashMap::new).insert(name, of.to_owned());
        }
    }
    types
}

#[test]
fn every_prefetch_path_is_a_field_of_the_schema() {
    use accounts_gateway::graphql::accounts::Prefetch;
    let types = sdl_fields(&accounts_gateway::graphql::sdl());
    assert_eq!(types["Account"]["owner"], "Client", "the SDL reader finds field types");
    for p in Prefetch::ALL {
        let mut ty = "Account".to_owned();
        for field in p.path() {
            let fields = types.get(&ty).unwrap_or_else(|| panic!("no object type {ty}"));
            // A renamed field leaves the prefetch selecting nothing: the
            // page would still answer, one statement per row.
            ty = fields.get(*field).unwrap_or_else(|| panic!("{p:?}: {ty} has no field `{field}`")).clone();
        }
    }
}
