//! GraphQL over HTTP: methods, media types and status codes.

use crate::helpers::TestApp;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn methods_media_types_and_statuses(app: TestApp) {
    let url = format!("{}/graphql", app.base);
    let get = app.http.get(&url).query(&[("query", "{ viewer { role } }")]).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    assert!(get.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("application/json"));
    let body: Value = get.json().await.unwrap();
    assert_eq!(body["data"]["viewer"]["role"], "ADMIN");

    let with_vars = app
        .http
        .get(&url)
        .query(&[
            ("query", "query($e: String!) { accountByExternalId(externalId: $e) { name } }"),
            ("variables", r#"{"e":"acc-ana-main"}"#),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = with_vars.json().await.unwrap();
    assert_eq!(body["data"]["accountByExternalId"]["name"], "Ana personal");

    let mutation =
        app.http.get(&url).query(&[("query", "mutation { createProject(name: \"x\") { id } }")]).send().await.unwrap();
    assert_eq!(mutation.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(mutation.headers()["allow"], "POST");

    let grj = "application/graphql-response+json";
    let ok =
        app.http.post(&url).header(ACCEPT, grj).json(&json!({"query": "{ viewer { subject } }"})).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert!(ok.headers()[CONTENT_TYPE].to_str().unwrap().starts_with(grj));

    let syntax = app.http.post(&url).header(ACCEPT, grj).json(&json!({"query": "{ viewer { "})).send().await.unwrap();
    assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
    let body: Value = syntax.json().await.unwrap();
    assert!(body.get("data").is_none(), "a request error has no data entry");
    assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION_FAILED");

    let invalid = app.http.post(&url).header(ACCEPT, grj).json(&json!({"query": "{ nope }"})).send().await.unwrap();
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let legacy = app
        .http
        .post(&url)
        .header(ACCEPT, "application/json")
        .json(&json!({"query": "{ nope }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), StatusCode::OK, "application/json answers 200 to well-formed requests");

    let bad_json = app
        .http
        .post(&url)
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, grj)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
    let no_query = app.http.post(&url).json(&json!({"variables": {}})).send().await.unwrap();
    assert_eq!(no_query.status(), StatusCode::BAD_REQUEST);
    let bad_vars =
        app.http.post(&url).json(&json!({"query": "{ viewer { role } }", "variables": [1]})).send().await.unwrap();
    assert_eq!(bad_vars.status(), StatusCode::BAD_REQUEST);
    let text = app.http.post(&url).header(CONTENT_TYPE, "text/plain").body("{ viewer { role } }").send().await.unwrap();
    assert_eq!(text.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let html_only = app
        .http
        .post(&url)
        .header(ACCEPT, "text/html")
        .json(&json!({"query": "{ viewer { role } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(html_only.status(), StatusCode::NOT_ACCEPTABLE);
}

async fn health_readiness_graphiql_metrics(app: TestApp) {
    let health = app.http.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let page = app.http.get(format!("{}/graphiql", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));
    assert!(app.statements().await > 0);
}

crate::backend_tests!(methods_media_types_and_statuses, health_readiness_graphiql_metrics);
