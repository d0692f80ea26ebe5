//! Paging forwards, backwards and by offset; every ordering.

use crate::helpers::TestApp;
use serde_json::{json, Value};

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $offset: Int, $order: AccountOrder) {
  accounts(first: $first, after: $after, last: $last, before: $before, offset: $offset, orderBy: $order) {
    totalCount
    edges { cursor node { uid name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"#;

async fn page(app: &TestApp, vars: Value) -> Value {
    app.data(PAGE, vars).await["accounts"].clone()
}

fn uids(conn: &Value) -> Vec<i64> {
    conn["edges"].as_array().unwrap().iter().map(|e| e["node"]["uid"].as_i64().unwrap()).collect()
}

fn names(conn: &Value) -> Vec<String> {
    conn["edges"].as_array().unwrap().iter().map(|e| e["node"]["name"].as_str().unwrap().to_owned()).collect()
}

async fn forward_backward_and_offset(app: TestApp) {
    let order = json!({"field": "UID", "direction": "ASC"});
    let p1 = page(&app, json!({"first": 5, "order": order})).await;
    assert_eq!(uids(&p1), vec![1, 2, 3, 4, 5]);
    assert_eq!(p1["totalCount"], 14);
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    assert_eq!(p1["pageInfo"]["hasPreviousPage"], false);
    let p2 = page(&app, json!({"first": 5, "after": p1["pageInfo"]["endCursor"], "order": order})).await;
    assert_eq!(uids(&p2), vec![6, 7, 8, 9, 10]);
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);
    let p3 = page(&app, json!({"first": 5, "after": p2["pageInfo"]["endCursor"], "order": order})).await;
    assert_eq!(uids(&p3), vec![11, 12, 13, 14]);
    assert_eq!(p3["pageInfo"]["hasNextPage"], false);

    let tail = page(&app, json!({"last": 3, "order": order})).await;
    assert_eq!(uids(&tail), vec![12, 13, 14]);
    assert_eq!(tail["pageInfo"]["hasPreviousPage"], true);
    assert_eq!(tail["pageInfo"]["hasNextPage"], false);
    let before = page(&app, json!({"last": 3, "before": tail["pageInfo"]["startCursor"], "order": order})).await;
    assert_eq!(uids(&before), vec![9, 10, 11]);
    assert_eq!(before["pageInfo"]["hasNextPage"], true);
    let head = page(&app, json!({"last": 5, "before": p2["edges"][2]["cursor"], "order": order})).await;
    assert_eq!(uids(&head), vec![3, 4, 5, 6, 7]);

    let off = page(&app, json!({"first": 2, "offset": 10, "order": order})).await;
    assert_eq!(uids(&off), vec![11, 12]);
    assert_eq!(off["pageInfo"]["hasPreviousPage"], true);
    let past = page(&app, json!({"first": 2, "offset": 100, "order": order})).await;
    assert_eq!(uids(&past), Vec::<i64>::new());
    assert_eq!(past["totalCount"], 14);
}

/// A page that shows owners and types reads them in its own statement
/// (a join): it pages exactly as the plain page does, in every direction
/// and ordering, and its owners and types are each account's own.
async fn pages_with_owners_and_types_page_the_same(app: TestApp) {
    let with = PAGE.replace("node { uid name }", "node { id uid name owner { name } type { code } }");
    let one = "query($id: UUID!) { account(id: $id) { owner { name } type { code } } }";
    for field in ["CREATED_AT", "UID", "NAME", "UPDATED_AT"] {
        for direction in ["ASC", "DESC"] {
            let order = json!({"field": field, "direction": direction});
            let first = page(&app, json!({"first": 4, "order": order})).await;
            let vars = [
                json!({"first": 4, "order": order}),
                json!({"first": 4, "after": first["pageInfo"]["endCursor"], "order": order}),
                json!({"last": 3, "order": order}),
                json!({"last": 3, "before": first["pageInfo"]["endCursor"], "order": order}),
                json!({"first": 3, "offset": 5, "order": order}),
            ];
            for v in vars {
                let plain = page(&app, v.clone()).await;
                let joined = app.data(&with, v.clone()).await["accounts"].clone();
                assert_eq!(uids(&joined), uids(&plain), "{v}");
                assert_eq!(joined["pageInfo"], plain["pageInfo"], "{v}");
                assert_eq!(joined["totalCount"], plain["totalCount"], "{v}");
                for edge in joined["edges"].as_array().unwrap() {
                    let node = &edge["node"];
                    let alone = app.data(one, json!({"id": node["id"]})).await;
                    assert_eq!(node["owner"], alone["account"]["owner"], "{v}");
                    assert_eq!(node["type"], alone["account"]["type"], "{v}");
                    assert!(node["type"]["code"].is_string(), "{node}");
                }
            }
        }
    }
}

async fn every_ordering(app: TestApp) {
    for field in ["CREATED_AT", "UID", "NAME", "UPDATED_AT"] {
        let asc = page(&app, json!({"first": 500, "order": {"field": field, "direction": "ASC"}})).await;
        let desc = page(&app, json!({"first": 500, "order": {"field": field, "direction": "DESC"}})).await;
        let mut reversed = names(&desc);
        reversed.reverse();
        assert_eq!(names(&asc), reversed, "{field} DESC is ASC reversed");
        // Walking in pages of 4 by cursor gives the same sequence.
        let mut walked = Vec::new();
        let mut after = Value::Null;
        loop {
            let p =
                page(&app, json!({"first": 4, "after": after, "order": {"field": field, "direction": "ASC"}})).await;
            walked.extend(names(&p));
            if p["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = p["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(walked, names(&asc), "{field} paged by cursor");
    }
    let by_uid = page(&app, json!({"first": 500, "order": {"field": "UID", "direction": "ASC"}})).await;
    assert_eq!(uids(&by_uid), (1..=14).collect::<Vec<i64>>());
    let by_name = page(&app, json!({"first": 2, "order": {"field": "NAME", "direction": "ASC"}})).await;
    assert_eq!(names(&by_name), vec!["Acme FX", "Acme operating"]);
    // The default order is newest first.
    let default = app.data("{ accounts(first: 1) { nodes { name } } }", json!({})).await;
    assert_eq!(default["accounts"]["nodes"][0]["name"], "RESERVE USDC");
}

async fn cursor_of_another_ordering_is_refused(app: TestApp) {
    let p = page(&app, json!({"first": 1, "order": {"field": "UID", "direction": "ASC"}})).await;
    let body = app
        .gql(
            PAGE,
            json!({"first": 1, "after": p["pageInfo"]["endCursor"], "order": {"field": "NAME", "direction": "ASC"}}),
        )
        .await;
    assert_eq!(crate::helpers::first_code(&body), "VALIDATION_FAILED");
    assert_eq!(body["errors"][0]["extensions"]["details"][0]["field"], "after");
}

async fn sub_account_and_client_connections_page(app: TestApp) {
    let q = r#"{ accountByExternalId(externalId: "acc-acme-ops") {
        all: subAccounts { totalCount nodes { name } }
        one: subAccounts(first: 1) { totalCount nodes { name } pageInfo { hasNextPage endCursor } }
        filtered: subAccounts(filter: {type: ["DEPOSIT"], search: "acme fx"}) { totalCount nodes { name } }
        owner { accounts(first: 2) { totalCount nodes { name } pageInfo { hasNextPage } } }
    } }"#;
    let a = app.data(q, json!({})).await["accountByExternalId"].clone();
    assert_eq!(a["all"]["totalCount"], 2);
    assert_eq!(names_of(&a["all"]), vec!["Acme FX", "Acme payroll"]);
    assert_eq!(names_of(&a["one"]), vec!["Acme FX"]);
    assert_eq!(a["one"]["pageInfo"]["hasNextPage"], true);
    assert_eq!(names_of(&a["filtered"]), vec!["Acme FX"]);
    assert_eq!(a["owner"]["accounts"]["totalCount"], 4);
    assert_eq!(a["owner"]["accounts"]["pageInfo"]["hasNextPage"], true);
    let cursor = a["one"]["pageInfo"]["endCursor"].clone();
    let q2 = r#"query($c: String) { accountByExternalId(externalId: "acc-acme-ops") { subAccounts(first: 5, after: $c) { nodes { name } pageInfo { hasPreviousPage hasNextPage } } } }"#;
    let rest = app.data(q2, json!({"c": cursor})).await;
    assert_eq!(names_of(&rest["accountByExternalId"]["subAccounts"]), vec!["Acme payroll"]);
    let clients = app
        .data("{ clients(first: 2) { totalCount nodes { name } pageInfo { hasNextPage endCursor } } }", json!({}))
        .await;
    assert_eq!(clients["clients"]["totalCount"], 5);
    let after = clients["clients"]["pageInfo"]["endCursor"].clone();
    let more =
        app.data("query($a: String) { clients(first: 10, after: $a) { nodes { name } } }", json!({"a": after})).await;
    assert_eq!(more["clients"]["nodes"].as_array().unwrap().len(), 3);
    let found = app.data(r#"{ clients(filter: {search: "blue"}) { nodes { name kind } } }"#, json!({})).await;
    assert_eq!(found["clients"]["nodes"][0]["name"], "Blue River Payments");
    assert_eq!(found["clients"]["nodes"][0]["kind"], "BUSINESS");
}

fn names_of(conn: &Value) -> Vec<String> {
    conn["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect()
}

crate::backend_tests!(
    pages_with_owners_and_types_page_the_same,
    forward_backward_and_offset,
    every_ordering,
    cursor_of_another_ordering_is_refused,
    sub_account_and_client_connections_page
);
