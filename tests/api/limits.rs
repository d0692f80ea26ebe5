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
    let parser_bomb = format!("{{ {}role{} }}", "viewer { ".repeat(400), " }".repeat(400));
    // Past the validator's recursion limit (32), below the parser's.
    let recursion = format!("{{ accounts {{ nodes {{ {}id{} }} }} }}", "parent { ".repeat(60), " }".repeat(60));
    for (name, q) in [
        ("nesting past the parser's limit", parser_bomb),
        ("depth bomb", depth),
        ("nesting past the validator's recursion limit", recursion),
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
    assert_eq!(app.statements().await - statements, 8, "refused before touching the data");
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

fn persisted(query: &str) -> serde_json::Value {
    use sha2::{Digest, Sha256};
    json!({"persistedQuery": {"version": 1, "sha256Hash": hex::encode(Sha256::digest(query.as_bytes()))}})
}

async fn post(app: &TestApp, body: serde_json::Value) -> serde_json::Value {
    app.http.post(format!("{}/graphql", app.base)).json(&body).send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_persisted_queries() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let query = "{ viewer { role } }";
    let ext = persisted(query);
    // What Apollo's link sends first: the hash alone, no `query` at all.
    let miss = post(&app, json!({"extensions": ext})).await;
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound", "{miss}");
    assert_eq!(first_code(&miss), "PERSISTED_QUERY_NOT_FOUND");
    let wrong = post(&app, json!({"extensions": ext, "query": "{ viewer { subject } }"})).await;
    assert_eq!(first_code(&wrong), "VALIDATION_FAILED", "a document must match its hash: {wrong}");
    let store = post(&app, json!({"extensions": ext, "query": query})).await;
    assert_eq!(store["data"]["viewer"]["role"], "ADMIN");
    let hit = post(&app, json!({"extensions": ext})).await;
    assert_eq!(hit["data"]["viewer"]["role"], "ADMIN", "{hit}");
    let get = app
        .http
        .get(format!("{}/graphql", app.base))
        .query(&[("extensions", ext.to_string())])
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(get["data"]["viewer"]["role"], "ADMIN", "hash-only over GET: {get}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persisted_documents_pass_every_check() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--max-query-length", "200", "--max-depth", "6"]).await.unwrap();
    // A mutation registered over POST still cannot run over GET.
    let mutation = r#"mutation { createProject(name: "Over GET") { name } }"#;
    let ext = persisted(mutation);
    assert!(post(&app, json!({"extensions": ext, "query": mutation})).await.get("errors").is_none());
    let over_get =
        app.http.get(format!("{}/graphql", app.base)).query(&[("extensions", ext.to_string())]).send().await.unwrap();
    assert_eq!(over_get.status(), StatusCode::METHOD_NOT_ALLOWED);
    let projects = app.data(r#"{ projects { name } }"#, json!({})).await;
    assert_eq!(projects["projects"].as_array().unwrap().iter().filter(|p| p["name"] == "Over GET").count(), 1);
    // Too long: refused, and so never kept.
    let long = format!("{{ viewer {{ role }} }} # {}", "x".repeat(300));
    let refused = post(&app, json!({"extensions": persisted(&long), "query": long})).await;
    assert_eq!(first_code(&refused), "LIMIT_EXCEEDED", "{refused}");
    let later = post(&app, json!({"extensions": persisted(&long)})).await;
    assert_eq!(first_code(&later), "PERSISTED_QUERY_NOT_FOUND", "{later}");
    // Too deep: refused when sent, and so never kept under its hash.
    let deep = "{ accounts { nodes { parent { parent { parent { parent { parent { id } } } } } } } }";
    let sent = post(&app, json!({"extensions": persisted(deep), "query": deep})).await;
    assert_eq!(first_code(&sent), "LIMIT_EXCEEDED", "{sent}");
    let by_hash = post(&app, json!({"extensions": persisted(deep)})).await;
    assert_eq!(first_code(&by_hash), "PERSISTED_QUERY_NOT_FOUND", "{by_hash}");
    // The control: a document that passed every check is kept, and found
    // by its hash alone (so NOT_FOUND above means "refused", not "never
    // stores anything").
    let fine = "{ viewer { role } }";
    assert!(post(&app, json!({"extensions": persisted(fine), "query": fine})).await.get("errors").is_none());
    let found = post(&app, json!({"extensions": persisted(fine)})).await;
    assert_eq!(found["data"]["viewer"]["role"], "ADMIN", "{found}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_document_is_not_kept() {
    let flags = ["--rate-limit-per-second", "1", "--rate-limit-burst", "1"];
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let first = "{ viewer { role } }";
    assert!(post(&app, json!({"query": first})).await.get("errors").is_none(), "the one token");
    let query = "{ viewer { subject } }";
    let limited = post(&app, json!({"extensions": persisted(query), "query": query})).await;
    assert_eq!(first_code(&limited), "LIMIT_EXCEEDED", "{limited}");
    // Ask by hash until the bucket has refilled (one token a second).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let by_hash = loop {
        let answer = post(&app, json!({"extensions": persisted(query)})).await;
        if first_code(&answer) != "LIMIT_EXCEEDED" {
            break answer;
        }
        assert!(std::time::Instant::now() < deadline, "the bucket never refilled: {answer}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(first_code(&by_hash), "PERSISTED_QUERY_NOT_FOUND", "{by_hash}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_store_is_bounded_in_bytes() {
    let Some(redis) = crate::helpers::redis_flags() else { return };
    let prefix = format!("apqb{}:", uuid::Uuid::new_v4().simple());
    let flags = [redis[0].as_str(), redis[1].as_str(), "--redis-prefix", &prefix, "--persisted-queries-bytes", "4096"];
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let queries: Vec<String> = (0..20).map(|i| format!("{{ viewer {{ role }} }} # {i} {}", "x".repeat(400))).collect();
    for q in &queries {
        assert!(post(&app, json!({"extensions": persisted(q), "query": q})).await.get("errors").is_none());
    }
    let url = redis[1].as_str();
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{{{prefix}apq:}}docs");
    let fields: Vec<String> = redis::cmd("HKEYS").arg(&key).query_async(&mut conn).await.unwrap();
    let bytes: u64 = redis::cmd("GET").arg(format!("{key}:bytes")).query_async(&mut conn).await.unwrap();
    assert!(!fields.is_empty() && bytes <= 4096, "{} documents, {bytes} bytes", fields.len());
    assert!(fields.len() < queries.len(), "the oldest were dropped: {}", fields.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_persisted_queries_through_redis() {
    let Some(redis) = crate::helpers::redis_flags() else { return };
    let prefix = format!("apq{}:", uuid::Uuid::new_v4().simple());
    // The URL from the helper, one prefix for both replicas.
    let flags = [redis[0].as_str(), redis[1].as_str(), "--redis-prefix", &prefix];
    let one = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let two = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let query = "{ viewer { organization { name } } }";
    assert!(post(&one, json!({"extensions": persisted(query), "query": query})).await.get("errors").is_none());
    let elsewhere = post(&two, json!({"extensions": persisted(query)})).await;
    assert_eq!(elsewhere["data"]["viewer"]["organization"]["name"], "demo", "{elsewhere}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_body_limit_is_the_one_that_applies() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    // 3 MB: past axum's own 2 MiB default, inside the 10 MiB MAX_BODY_BYTES.
    let pad = "x".repeat(3_000_000);
    let query = "query($pad: String!) { viewer { role } clients(filter: {email: $pad}) { totalCount } }";
    let body = json!({"query": query, "variables": {"pad": pad}});
    let resp = app.http.post(format!("{}/graphql", app.base)).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.json::<serde_json::Value>().await.unwrap()["data"]["viewer"]["role"], "ADMIN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_credential_is_checked_before_the_document_is_parsed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let broken = format!("{{ {}", "viewer { ".repeat(1000));
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("x-api-key", "agk_not_a_key")
        .json(&json!({"query": broken}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(first_code(&body), "UNAUTHENTICATED", "not a syntax error: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_time_limit_is_refused() {
    let server = crate::quote_server::QuoteServer::start().await;
    server.set(crate::quote_server::Mode::Slow(std::time::Duration::from_secs(5)));
    let mut flags = server.flags(60);
    flags.extend(["--request-timeout-ms".into(), "300".into()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let body = app.gql(r#"{ quotes(currencies: ["BTC"]) { usdRate } }"#, json!({})).await;
    assert_eq!(first_code(&body), "LIMIT_EXCEEDED", "{body}");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("time limit"), "{body}");
}

/// A caller without a valid credential is answered before its body is
/// read: the server does not wait for (or buffer) the 5 MB it announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_body_is_not_read_before_the_credential_is_checked() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let addr = app.base.trim_start_matches("http://").to_owned();
    for credential in ["", "x-api-key: agk_not_a_key\r\n"] {
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST /graphql HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n{credential}content-length: 5000000\r\n\r\n{{\"query\":"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        // Nothing more is sent: a server that reads the body first never answers.
        let mut answer = vec![0u8; 1024];
        let n = tokio::time::timeout(std::time::Duration::from_secs(30), tcp.read(&mut answer))
            .await
            .expect("answered without the body")
            .unwrap();
        let text = String::from_utf8_lossy(&answer[..n]);
        assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    }
}

/// Every list weighs what it can return: a journal page its size, a chart
/// its points, assets their expected count. What once scored 90,000 and
/// ran is refused before it runs; an ordinary page still runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_is_weighed_by_what_it_can_return() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let heavy_one = r#"accounts(first: 500) { nodes { assets { journal(first: 500) { nodes { id at } }
        balanceHistory(from: "2023-01-01T00:00:00Z", to: "2025-12-31T00:00:00Z", interval: DAY) { at } } } }"#;
    let heavy: String = (0..18).map(|i| format!("a{i}: {heavy_one}\n")).collect();
    for doc in [format!("{{ {heavy} }}"), format!("{{ {heavy_one} }}")] {
        let refused = post(&app, json!({"query": doc})).await;
        assert_eq!(first_code(&refused), "LIMIT_EXCEEDED", "{refused}");
        assert!(refused["data"].is_null(), "refused before it ran: {refused}");
    }
    let chart = r#"{ accounts(first: 2) { nodes { assets { balanceHistory(from: "2023-01-01T00:00:00Z",
        to: "2025-12-31T00:00:00Z", interval: HOUR) { at } } } } }"#;
    assert_eq!(first_code(&post(&app, json!({"query": chart})).await), "LIMIT_EXCEEDED", "26,000 points each");
    let groups = r#"{ accountsAggregate(groupBy: [STATUS]) { status usdTotal } }"#;
    assert!(post(&app, json!({"query": groups})).await.get("errors").is_none());
    let page = r#"{ accounts(first: 20) { nodes { assets { journal(first: 10) { nodes { id } } wallets { id }
        balanceHistory(from: "2025-01-01T00:00:00Z", to: "2025-01-31T00:00:00Z", interval: DAY) { at } } } } }"#;
    let ran = post(&app, json!({"query": page})).await;
    assert!(ran.get("errors").is_none(), "{ran}");
}

/// Sends `query` with `variables` over POST with the app's key: status,
/// `Retry-After`, body.
async fn post_status(
    app: &TestApp,
    query: &str,
    variables: serde_json::Value,
) -> (u16, Option<String>, serde_json::Value) {
    let body = json!({"query": query, "variables": variables});
    let resp = app.http.post(format!("{}/graphql", app.base)).json(&body).send().await.unwrap();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (resp.status().as_u16(), retry, resp.json().await.unwrap())
}

/// A document spends its caller's rate budget by its weight: at 10 of
/// weight per token, a page of 200 ids (weight 400) costs 41 requests, so
/// a burst of 100 pays for two and refuses the third (429 with
/// Retry-After, nothing taken, so a cheap request still passes), and the
/// same document asking for 500 (its weight remembered by the value of
/// `$n`, not by the text alone) costs more than the whole burst: refused,
/// with no wait that would help. The same over WebSocket; with Redis, the
/// shared bucket charges the same.
async fn documents_spend_the_rate_budget_by_their_weight(extra: &[&str]) {
    let mut flags =
        vec!["--rate-limit-per-second", "1", "--rate-limit-burst", "100", "--rate-limit-cost-per-token", "10"];
    flags.extend_from_slice(extra);
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let page = "query($n: Int) { accounts(first: $n) { nodes { id } } }";
    for i in 0..2 {
        let (status, _, body) = post_status(&app, page, json!({"n": 200})).await;
        assert_eq!((status, body.get("errors")), (200, None), "page {i} fits the burst: {body}");
    }
    let (status, retry, body) = post_status(&app, page, json!({"n": 200})).await;
    assert_eq!((status, first_code(&body).as_str()), (429, "LIMIT_EXCEEDED"), "{body}");
    assert!(retry.is_some_and(|r| r.parse::<u64>().is_ok_and(|s| s >= 1)), "with a wait to retry after");
    let (status, _, body) = post_status(&app, "{ viewer { role } }", json!({})).await;
    assert_eq!((status, body.get("errors")), (200, None), "the refusal took nothing: {body}");
    let (status, retry, body) = post_status(&app, page, json!({"n": 500})).await;
    assert_eq!(first_code(&body), "LIMIT_EXCEEDED", "{body}");
    assert!(status != 429 && retry.is_none(), "no wait would make it pass: {status}");
    assert!(body.to_string().contains("whole burst"), "{body}");
    let mut ws = crate::ws_client::Ws::ready(&app.base, "graphql-transport-ws", &app.key).await;
    ws.subscribe("page", page, json!({"n": 200})).await;
    match ws.next(std::time::Duration::from_secs(10)).await {
        crate::ws_client::Got::Json(v) => {
            let code = v["payload"][0]["extensions"]["code"].as_str();
            assert_eq!((v["type"].as_str(), code), (Some("error"), Some("LIMIT_EXCEEDED")), "{v}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_spend_the_rate_budget_by_their_weight_in_memory() {
    documents_spend_the_rate_budget_by_their_weight(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_spend_the_rate_budget_by_their_weight_in_redis() {
    let Some(redis) = crate::helpers::redis_flags() else { return };
    let flags: Vec<&str> = redis.iter().map(String::as_str).collect();
    documents_spend_the_rate_budget_by_their_weight(&flags).await;
}

/// A document heavier than `HEAVY_DOCUMENT_COST` runs on a thread of its
/// own (so the cores are shared between it and small requests) and
/// answers exactly as it does on the runtime's workers, queries and
/// mutations alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heavy_document_answers_the_same_on_a_thread_of_its_own() {
    let alone = TestApp::spawn_with(Backend::Sqlite, &["--heavy-document-cost", "1"]).await.unwrap();
    let inline = TestApp::spawn_with(Backend::Sqlite, &["--heavy-document-cost", "0"]).await.unwrap();
    let q = "{ accounts(first: 20, orderBy: {field: UID, direction: ASC}) { nodes { uid name status owner { name } assets { currency { code } balance { available } } } } }";
    let (a, b) = (alone.data(q, json!({})).await, inline.data(q, json!({})).await);
    assert_eq!(a, b);
    assert!(a["accounts"]["nodes"].as_array().is_some_and(|n| n.len() >= 10), "the demo accounts: {a}");
    let create = r#"mutation { createAccount(input: {name: "On its own", type: "PERSONAL", ownerExternalId: "cli-ana"}) { name status } }"#;
    let made = alone.data(create, json!({})).await;
    assert_eq!(made["createAccount"], json!({"name": "On its own", "status": "PENDING"}));
}
