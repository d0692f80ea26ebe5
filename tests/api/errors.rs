//! Bad input gets a clear error with a code and the field, and nothing else.

use crate::helpers::{first_code, TestApp};
use serde_json::json;

async fn bad_arguments(app: TestApp) {
    let cases = [
        (r#"{ account(id: "not-a-uuid") { id } }"#, json!({}), None),
        ("query($id: UUID!) { account(id: $id) { id } }", json!({"id": "nope"}), Some("id")),
        ("{ accounts(first: 501) { totalCount } }", json!({}), Some("first")),
        ("{ accounts(last: -1) { totalCount } }", json!({}), Some("last")),
        ("{ accounts(offset: -1) { totalCount } }", json!({}), Some("offset")),
        (r#"{ accounts(first: 1, after: "bm90LWEtY3Vyc29y") { totalCount } }"#, json!({}), Some("after")),
        ("{ accounts(filter: {status: [BOGUS]}) { totalCount } }", json!({}), None),
        ("{ accounts { nodes { bogus } } }", json!({}), None),
        ("{ accounts(filter: {metadata: [1, 2]}) { totalCount } }", json!({}), Some("filter.metadata")),
        (
            r#"{ accounts(filter: {createdFrom: "2030-01-01T00:00:00Z", createdTo: "2020-01-01T00:00:00Z"}) { totalCount } }"#,
            json!({}),
            Some("filter.createdTo"),
        ),
        ("{ clients(first: 100000) { totalCount } }", json!({}), Some("first")),
        ("{ accounts(first: 2, offset: 1, last: 1) { totalCount } }", json!({}), Some("last")),
    ];
    for (query, vars, field) in cases {
        let body = app.gql(query, vars).await;
        assert_eq!(first_code(&body), "VALIDATION_FAILED", "{query}: {body:#}");
        let msg = body["errors"][0]["message"].as_str().unwrap_or_default().to_lowercase();
        assert!(!msg.contains("select") && !msg.contains("sqlx") && !msg.contains("panick"), "no internals: {msg}");
        if let Some(f) = field {
            assert_eq!(body["errors"][0]["extensions"]["details"][0]["field"], f, "{query}: {body:#}");
        }
        assert!(body.get("data").is_none() || body["data"].is_null(), "no partial data: {body:#}");
    }
}

async fn wildcard_search_is_literal_and_safe(app: TestApp) {
    for text in ["%", "_", "\\", "'; DROP TABLE accounts; --", "\"", "ana%"] {
        let body =
            app.gql("query($s: String) { accounts(filter: {search: $s}) { totalCount } }", json!({"s": text})).await;
        assert!(body.get("errors").is_none(), "{text}: {body:#}");
        assert_eq!(body["data"]["accounts"]["totalCount"], 0, "{text}");
    }
    let still = app.data("{ accounts { totalCount } }", json!({})).await;
    assert_eq!(still["accounts"]["totalCount"], 14);
}

crate::backend_tests!(bad_arguments, wildcard_search_is_literal_and_safe);
