//! Every field of `AccountFilter`, against the demo data set.

use crate::helpers::TestApp;
use serde_json::{json, Value};

async fn names(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app
        .data(
            "query($f: AccountFilter) { accounts(filter: $f, first: 500) { totalCount nodes { name } } }",
            json!({"f": filter}),
        )
        .await;
    let nodes = data["accounts"]["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(data["accounts"]["totalCount"].as_u64(), Some(nodes.len() as u64), "totalCount matches the rows");
    let mut out: Vec<String> = nodes.iter().map(|n| n["name"].as_str().unwrap_or_default().to_owned()).collect();
    out.sort();
    out
}

async fn account(app: &TestApp, external_id: &str) -> Value {
    let q = "query($e: String!) { accountByExternalId(externalId: $e) { id uid accountNumber createdAt owner { id } project { id } } }";
    app.data(q, json!({"e": external_id})).await["accountByExternalId"].clone()
}

fn v(list: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out
}

async fn search_and_ids(app: TestApp) {
    assert_eq!(names(&app, json!({"search": "ana"})).await, v(&["Ana personal", "Ana savings", "Ana vacation fund"]));
    assert_eq!(names(&app, json!({"search": "ACME P"})).await, v(&["Acme payroll", "Acme payroll Q4"]));
    assert_eq!(names(&app, json!({"search": "johnc"})).await, v(&["John crypto"]), "by alias");
    assert_eq!(names(&app, json!({"search": "acc-river"})).await, v(&["Blue River settlement"]), "by external id");
    assert_eq!(names(&app, json!({"search": "100%"})).await, Vec::<String>::new(), "wildcards are literal");
    let john = account(&app, "acc-john-crypto").await;
    let uid = john["uid"].as_i64().unwrap().to_string();
    assert!(names(&app, json!({"search": uid})).await.contains(&"John crypto".to_owned()), "by uid");
    assert_eq!(names(&app, json!({"search": john["id"]})).await, v(&["John crypto"]), "by id");
    assert_eq!(names(&app, json!({"search": john["accountNumber"]})).await, v(&["John crypto"]), "by number prefix");
    assert_eq!(names(&app, json!({"accountNumber": john["accountNumber"]})).await, v(&["John crypto"]));
    assert_eq!(names(&app, json!({"id": {"eq": john["id"]}})).await, v(&["John crypto"]));
    let mei = account(&app, "acc-mei-usdc").await;
    assert_eq!(names(&app, json!({"id": {"in": [john["id"], mei["id"]]}})).await, v(&["John crypto", "Mei wallet"]));
    assert_eq!(names(&app, json!({"externalId": {"eq": "acc-mei-usdc"}})).await, v(&["Mei wallet"]));
    assert_eq!(
        names(&app, json!({"externalId": {"in": ["acc-ana-main", "acc-river-settle"]}})).await,
        v(&["Ana personal", "Blue River settlement"])
    );
}

async fn by_attributes(app: TestApp) {
    assert_eq!(names(&app, json!({"type": ["DEPOSIT"]})).await, v(&["Acme FX", "Acme payroll", "Acme payroll Q4"]));
    assert_eq!(
        names(&app, json!({"status": ["BLOCKED", "PENDING"]})).await,
        v(&["Blue River settlement", "Mei wallet"])
    );
    assert_eq!(names(&app, json!({"kind": "SYSTEM"})).await, v(&["FEE_PAYER ETH", "OMNIBUS USD", "RESERVE USDC"]));
    assert_eq!(
        names(&app, json!({"status": ["ACTIVE"], "type": ["SAVINGS"]})).await,
        v(&["Ana savings", "Ana vacation fund"])
    );
    assert_eq!(names(&app, json!({"currency": ["BTC"]})).await, v(&["John crypto"]));
    assert_eq!(names(&app, json!({"currency": ["eur"]})).await, v(&["Acme operating", "Ana vacation fund"]));
    let mei = app.data(r#"{ accountByExternalId(externalId: "acc-mei-usdc") { addresses } }"#, json!({})).await;
    let tron = mei["accountByExternalId"]["addresses"][1].clone();
    assert!(tron.as_str().unwrap().starts_with('T'));
    assert_eq!(names(&app, json!({"address": [tron]})).await, v(&["Mei wallet"]));
    assert_eq!(names(&app, json!({"metadata": {"segment": "enterprise"}})).await, v(&["Acme operating"]));
    assert_eq!(names(&app, json!({"metadata": {"tier": 1}})).await, v(&["Acme operating", "Ana personal"]));
    assert_eq!(names(&app, json!({"metadata": {"vip": false}})).await, v(&["Ana personal"]));
    assert_eq!(names(&app, json!({"metadata": {"tier": "1"}})).await, Vec::<String>::new(), "types are exact");
    assert_eq!(names(&app, json!({"metadata": {"tier": 1, "segment": "retail"}})).await, v(&["Ana personal"]));
}

async fn by_relations(app: TestApp) {
    let ana = account(&app, "acc-ana-main").await;
    let acme = account(&app, "acc-acme-ops").await;
    assert_eq!(
        names(&app, json!({"ownerId": ana["owner"]["id"]})).await,
        v(&["Ana personal", "Ana savings", "Ana vacation fund"])
    );
    assert_eq!(
        names(&app, json!({"ownerEmail": "JOHN.DOE@example.com"})).await,
        v(&["John crypto", "John old savings"])
    );
    assert_eq!(
        names(&app, json!({"ownerExternalId": "cli-acme"})).await,
        v(&["Acme FX", "Acme operating", "Acme payroll", "Acme payroll Q4"])
    );
    assert_eq!(names(&app, json!({"parentId": acme["id"]})).await, v(&["Acme FX", "Acme payroll"]));
    assert_eq!(
        names(&app, json!({"isSubAccount": true})).await,
        v(&["Acme FX", "Acme payroll", "Acme payroll Q4", "Ana savings", "Ana vacation fund"])
    );
    assert_eq!(names(&app, json!({"isSubAccount": false})).await.len(), 9);
    assert_eq!(names(&app, json!({"projectId": acme["project"]["id"]})).await, v(&["Acme operating", "Acme payroll"]));
    let from = acme["createdAt"].clone();
    assert_eq!(names(&app, json!({"createdFrom": from})).await.len(), 8);
    let savings_created =
        app.data(r#"{ accounts(filter: {search: "Ana savings"}) { nodes { createdAt } } }"#, json!({})).await;
    let to = savings_created["accounts"]["nodes"][0]["createdAt"].clone();
    assert_eq!(names(&app, json!({"createdTo": to})).await, v(&["Ana personal", "Ana savings"]));
}

async fn deleted_accounts_are_hidden_unless_asked(app: TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let update = entity::account::Entity::update_many()
        .col_expr(entity::account::Column::Status, sea_orm::sea_query::Expr::value("DELETED"))
        .col_expr(entity::account::Column::DeletedAt, sea_orm::sea_query::Expr::value(chrono::Utc::now()))
        .filter(entity::account::Column::Name.eq("John old savings"));
    update.exec(&app.db).await.unwrap();
    assert_eq!(names(&app, json!({"ownerEmail": "john.doe@example.com"})).await, v(&["John crypto"]));
    assert_eq!(
        names(&app, json!({"ownerEmail": "john.doe@example.com", "includeDeleted": true})).await,
        v(&["John crypto", "John old savings"])
    );
    let body = app.data(r#"{ accounts(first: 500) { totalCount } }"#, json!({})).await;
    assert_eq!(body["accounts"]["totalCount"], 13);
}

crate::backend_tests!(search_and_ids, by_attributes, by_relations, deleted_accounts_are_hidden_unless_asked);
