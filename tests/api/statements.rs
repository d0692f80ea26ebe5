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

async fn nested_page_costs_constant_statements(app: TestApp) {
    let key = app.store.card_key.clone();
    seed::seed(&app.db, "demo", 600, &key, app.clock.now()).await.unwrap();
    // Generated accounts all have an owner, a project and assets, and some
    // have parents, cards and wallets, so every relation is loaded.
    let mut counts = Vec::new();
    for n in [5, 50, 500] {
        let before = app.statements().await;
        let data = app.data(NESTED, json!({"n": n})).await;
        let after = app.statements().await;
        assert_eq!(data["accounts"]["nodes"].as_array().unwrap().len(), n);
        counts.push(after - before);
    }
    assert_eq!(counts[0], counts[1], "5 vs 50 accounts: {counts:?}");
    assert_eq!(counts[1], counts[2], "50 vs 500 accounts: {counts:?}");
    assert!(counts[0] <= 10, "at most 10 statements, got {counts:?}");
}

crate::backend_tests!(nested_page_costs_constant_statements);

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
