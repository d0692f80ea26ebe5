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
