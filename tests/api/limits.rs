//! Hostile queries are refused before execution with LIMIT_EXCEEDED, and
//! change nothing.

use crate::helpers::{first_code, Backend, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn count(app: &TestApp) -> serde_json::Value {
    app.data("{ clients { totalCount } auditEvents { totalCount } }", json!({})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let before = count(&app).await;
    let statements = app.statements().await;

    let mut depth = String::from("{ accounts { nodes { ");
    for _ in 0..20 {
        depth.push_str("parent { ");
    }
    depth.push_str("id");
    depth.push_str(&" }".repeat(20));
    depth.push_str(" } } }");
    let aliases: String =
        (0..1000).map(|i| format!("a{i}: createClient(input: {{name: \"x{i}\"}}) {{ id }} ")).collect();
    let aliases = format!("mutation {{ {aliases} }}");
    let read_aliases: String = (0..1000).map(|i| format!("a{i}: viewer {{ role }} ")).collect();
    let read_aliases = format!("{{ {read_aliases} }}");
    let complexity = "{ accounts(first: 500) { nodes { subAccounts(first: 500) { nodes { subAccounts(first: 500) { nodes { id } } } } } } }";
    let roots: String = (0..30).map(|i| format!("f{i}: currencies {{ code }} ")).collect();
    let long = format!("{{ viewer {{ role }} }} # {}", "x".repeat(30_000));
    for (name, q) in [
        ("depth bomb", depth),
        ("1,000 aliased mutations", aliases),
        ("1,000 aliases", read_aliases),
        ("complexity bomb", complexity.to_owned()),
        ("root fields", format!("{{ {roots} }}")),
        ("query length", long),
    ] {
        let body = app.gql(&q, json!({})).await;
        assert_eq!(first_code(&body), "LIMIT_EXCEEDED", "{name}: {body}");
        assert!(body.get("data").is_none() || body["data"].is_null(), "{name}: nothing ran");
    }
    // Each request costs its API-key lookup and nothing more.
    assert_eq!(app.statements().await - statements, 6, "refused before touching the data");
    assert_eq!(count(&app).await, before, "nothing changed");
    // A legitimate deep page still passes.
    let ok = app
        .gql(
            "{ accounts(first: 500) { nodes { assets { currency { networks { currencies { code } } } } } } }",
            json!({}),
        )
        .await;
    assert!(ok.get("errors").is_none(), "{ok}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body() {
    // A small limit, so the whole body fits the socket buffers and the
    // client reads the 413 instead of a reset mid-upload.
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-body-bytes", "2048"]).await.unwrap();
    let before = app.statements().await;
    let query = format!("{{ viewer {{ role }} }} # {}", "x".repeat(16 * 1024));
    let resp = app.http.post(format!("{}/graphql", app.base)).json(&json!({"query": query})).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.statements().await, before, "refused before anything ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_can_be_switched_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--introspection", "false", "--graphiql", "false"]).await.unwrap();
    let body = app.gql("{ __schema { types { name } } __type(name: \"Account\") { name } }", json!({})).await;
    assert!(body["data"]["__schema"].is_null() && body["data"]["__type"].is_null(), "nothing about the schema: {body}");
    let typo = app.gql("{ accouns { totalCount } }", json!({})).await;
    let msg = typo["errors"][0]["message"].as_str().unwrap();
    assert!(!msg.contains("Did you mean"), "no suggestions: {msg}");
    let page = app.http.get(format!("{}/graphiql", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_persisted_queries() {
    use sha2::{Digest, Sha256};
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let query = "{ viewer { role } }";
    let hash = hex::encode(Sha256::digest(query.as_bytes()));
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    let url = format!("{}/graphql", app.base);
    let miss: serde_json::Value =
        app.http.post(&url).json(&json!({"extensions": ext, "query": ""})).send().await.unwrap().json().await.unwrap();
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound", "{miss}");
    let store: serde_json::Value = app
        .http
        .post(&url)
        .json(&json!({"extensions": ext, "query": query}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(store["data"]["viewer"]["role"], "ADMIN");
    let hit: serde_json::Value =
        app.http.post(&url).json(&json!({"extensions": ext, "query": ""})).send().await.unwrap().json().await.unwrap();
    assert_eq!(hit["data"]["viewer"]["role"], "ADMIN", "{hit}");
}
