//! Credentials decide who calls: API keys, JWTs (pinned algorithm), roles,
//! tenancy, dev mode, rate limits, CORS.

use crate::helpers::{first_code, Backend, TestApp};
use accounts_gateway::domain::Role;
use accounts_gateway::service::{api_keys, seed};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const SECRET: &str = "a-test-secret-of-at-least-32-bytes-long";

/// POSTs `query` with these headers and no default credential.
async fn call(app: &TestApp, headers: &[(&str, &str)], query: &str) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().post(format!("{}/graphql", app.base)).json(&json!({"query": query}));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn demo_org(app: &TestApp) -> String {
    app.data("{ viewer { organization { id } } }", json!({})).await["viewer"]["organization"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn claims(org: &str, role: &str, exp_in: i64) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": "alice", "org": org, "role": role, "exp": now + exp_in, "iat": now, "iss": "https://issuer.test", "aud": "gateway"})
}

fn hs256(c: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), c, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_missing_credentials() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (status, body) = call(&app, &[], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(first_code(&body), "UNAUTHENTICATED");
    let (status, _) = call(&app, &[("x-api-key", "agk_0000")], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = call(&app, &[("x-api-key", &app.key)], "{ viewer { role subject } }").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["viewer"], json!({"role": "ADMIN", "subject": "key:initial-admin"}));
    assert!(app.key.starts_with("agk_") && app.key.len() >= 4 + 64, "32 random bytes behind a scannable prefix");
    let (row, key) = api_keys::create(&app.db, "demo", Role::Viewer, "reader").await.unwrap();
    let bearer = format!("Bearer {key}");
    let (status, body) = call(&app, &[("authorization", &bearer)], "{ viewer { role } }").await;
    assert_eq!((status, body["data"]["viewer"]["role"].clone()), (StatusCode::OK, json!("VIEWER")));
    let stored = api_keys::list(&app.db, Some("demo")).await.unwrap();
    assert!(stored.iter().all(|(k, _)| k.key_hash != key && !k.key_hash.contains(&key[4..])), "only a hash is kept");
    api_keys::revoke(&app.db, &row.id.to_string()).await.unwrap();
    let (status, body) = call(&app, &[("x-api-key", &key)], "{ viewer { role } }").await;
    assert_eq!((status, first_code(&body).as_str()), (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"), "revoked at once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_and_operators_are_refused_what_they_may_not_do() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (_, viewer) = api_keys::create(&app.db, "demo", Role::Viewer, "v").await.unwrap();
    let (_, operator) = api_keys::create(&app.db, "demo", Role::Operator, "o").await.unwrap();
    let acc = app.account_id("acc-ana-main").await;
    let a = acc.as_str().unwrap();
    let ids = app
        .data(r#"{ accountByExternalId(externalId: "acc-john-crypto") { owner { id } assets { id wallets { id } } smartCards { id } } }"#, json!({}))
        .await["accountByExternalId"]
        .clone();
    let (asset, wallet) = (
        ids["assets"][1]["id"].as_str().unwrap().to_owned(),
        ids["assets"][1]["wallets"][0]["id"].as_str().unwrap().to_owned(),
    );
    let (card, client) =
        (ids["smartCards"][0]["id"].as_str().unwrap().to_owned(), ids["owner"]["id"].as_str().unwrap().to_owned());
    let writes = [
        format!(r#"mutation {{ setAssetStatus(id: "{asset}", status: INACTIVE) {{ id }} }}"#),
        format!(
            r#"mutation {{ adjustBalance(assetId: "{asset}", input: {{idempotencyKey: "v", available: "1"}}) {{ id }} }}"#
        ),
        format!(
            r#"mutation {{ addWallet(assetId: "{asset}", input: {{network: "polygon", address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}}) {{ id }} }}"#
        ),
        format!(r#"mutation {{ setWalletActive(id: "{wallet}", active: false) {{ id }} }}"#),
        format!(r#"mutation {{ setSmartCardActive(id: "{card}", active: false) {{ id }} }}"#),
        format!(r#"mutation {{ updateClient(id: "{client}", input: {{name: "x"}}) {{ id }} }}"#),
        r#"mutation { createAccount(input: {name: "x", type: "PERSONAL", ownerExternalId: "cli-ana"}) { id } }"#
            .to_owned(),
        format!(r#"mutation {{ updateAccount(id: "{a}", input: {{name: "x"}}) {{ id }} }}"#),
        format!(r#"mutation {{ setAccountStatus(id: "{a}", status: INACTIVE) {{ id }} }}"#),
        format!(r#"mutation {{ deleteAccount(id: "{a}") {{ id }} }}"#),
        r#"mutation { systemAccount(role: RESERVE, currency: "BRL") { id } }"#.to_owned(),
        format!(r#"mutation {{ addAsset(accountId: "{a}", input: {{currency: "ETH"}}) {{ id }} }}"#),
        format!(
            r#"mutation {{ issueSmartCard(accountId: "{a}", input: {{name: "x", cardNumber: "4111111111111111", expirationDate: "12/30"}}) {{ id }} }}"#
        ),
        r#"mutation { createClient(input: {name: "x"}) { id } }"#.to_owned(),
        r#"mutation { importAccounts(rows: [{name: "x", type: "PERSONAL", ownerExternalId: "cli-ana"}]) { created } }"#
            .to_owned(),
    ];
    let config = [
        r#"mutation { createAccountType(input: {code: "X", name: "x"}) { code } }"#,
        r#"mutation { createCurrency(input: {code: "XX", name: "x", symbol: "x", type: FIAT, decimals: 2}) { code } }"#,
        r#"mutation { createNetwork(input: {code: "x", name: "x"}) { code } }"#,
        r#"mutation { createProject(name: "x") { id } }"#,
    ];
    let before = app.data("{ accounts(filter: {includeDeleted: true}) { totalCount } clients { totalCount } projects { name } auditEvents { totalCount } }", json!({})).await;
    for m in writes.iter().map(String::as_str).chain(config) {
        let (_, body) = call(&app, &[("x-api-key", &viewer)], m).await;
        assert_eq!(first_code(&body), "FORBIDDEN", "viewer: {m}");
    }
    for m in config {
        let (_, body) = call(&app, &[("x-api-key", &operator)], m).await;
        assert_eq!(first_code(&body), "FORBIDDEN", "operator: {m}");
    }
    let after = app.data("{ accounts(filter: {includeDeleted: true}) { totalCount } clients { totalCount } projects { name } auditEvents { totalCount } }", json!({})).await;
    assert_eq!(before, after, "refused calls change nothing");
    let (_, body) = call(&app, &[("x-api-key", &viewer)], "{ accounts { totalCount } }").await;
    assert_eq!(body["data"]["accounts"]["totalCount"], 14, "viewers read");
    let (_, body) =
        call(&app, &[("x-api-key", &operator)], r#"mutation { createClient(input: {name: "ok"}) { name } }"#).await;
    assert_eq!(body["data"]["createClient"]["name"], "ok", "operators change clients");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenancy_comes_from_the_credential() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let card = app.store.card_key.clone();
    seed::seed(&app.db, "other", 0, &card, app.clock.now()).await.unwrap();
    let (_, other) = api_keys::create(&app.db, "other", Role::Admin, "other-admin").await.unwrap();
    let h = [("x-api-key", other.as_str())];
    let (_, me) = call(&app, &h, "{ viewer { organization { name } } accounts { totalCount } }").await;
    assert_eq!(me["data"]["viewer"]["organization"]["name"], "other");
    // The demo organization's ids, used from the other organization.
    let ids = app.data(r#"{ accountByExternalId(externalId: "acc-ana-main") { id owner { id } assets { id } smartCards { id } } a2: accountByExternalId(externalId: "acc-john-crypto") { assets { id wallets { id } } } }"#, json!({})).await;
    let acc = ids["accountByExternalId"]["id"].as_str().unwrap().to_owned();
    let client = ids["accountByExternalId"]["owner"]["id"].as_str().unwrap().to_owned();
    let asset = ids["accountByExternalId"]["assets"][0]["id"].as_str().unwrap().to_owned();
    let card_id = ids["accountByExternalId"]["smartCards"][0]["id"].as_str().unwrap().to_owned();
    let wallet = ids["a2"]["assets"][1]["wallets"][0]["id"].as_str().unwrap().to_owned();
    let reads = [
        format!(r#"{{ account(id: "{acc}") {{ id }} }}"#),
        format!(r#"{{ client(id: "{client}") {{ id }} }}"#),
        format!(r#"{{ accounts(filter: {{id: {{eq: "{acc}"}}}}) {{ totalCount }} }}"#),
        format!(r#"{{ accounts(filter: {{ownerId: "{client}"}}) {{ totalCount }} }}"#),
        format!(r#"{{ auditEvents(filter: {{entityId: "{acc}"}}) {{ totalCount }} }}"#),
    ];
    for q in &reads {
        let (_, body) = call(&app, &h, q).await;
        assert!(body.get("errors").is_none(), "{q}: {body}");
        let data = body["data"].as_object().unwrap().values().next().unwrap().clone();
        assert!(data.is_null() || data["totalCount"] == 0, "{q}: {body}");
    }
    let writes = [
        format!(r#"mutation {{ updateAccount(id: "{acc}", input: {{name: "x"}}) {{ id }} }}"#),
        format!(r#"mutation {{ setAccountStatus(id: "{acc}", status: INACTIVE) {{ id }} }}"#),
        format!(r#"mutation {{ deleteAccount(id: "{acc}") {{ id }} }}"#),
        format!(r#"mutation {{ addAsset(accountId: "{acc}", input: {{currency: "ETH"}}) {{ id }} }}"#),
        format!(r#"mutation {{ setAssetStatus(id: "{asset}", status: INACTIVE) {{ id }} }}"#),
        format!(
            r#"mutation {{ adjustBalance(assetId: "{asset}", input: {{idempotencyKey: "t", available: "1"}}) {{ id }} }}"#
        ),
        format!(
            r#"mutation {{ addWallet(assetId: "{asset}", input: {{network: "ethereum", address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"}}) {{ id }} }}"#
        ),
        format!(r#"mutation {{ setWalletActive(id: "{wallet}", active: false) {{ id }} }}"#),
        format!(
            r#"mutation {{ issueSmartCard(accountId: "{acc}", input: {{name: "x", cardNumber: "4111111111111111", expirationDate: "12/30"}}) {{ id }} }}"#
        ),
        format!(r#"mutation {{ setSmartCardActive(id: "{card_id}", active: false) {{ id }} }}"#),
        format!(r#"mutation {{ updateClient(id: "{client}", input: {{name: "x"}}) {{ id }} }}"#),
        format!(
            r#"mutation {{ createAccount(input: {{name: "x", type: "PERSONAL", ownerId: "{client}"}}) {{ id }} }}"#
        ),
        format!(
            r#"mutation {{ createAccount(input: {{name: "x", type: "PERSONAL", ownerExternalId: "cli-ana", parentId: "{acc}"}}) {{ id }} }}"#
        ),
    ];
    for m in &writes {
        let (_, body) = call(&app, &h, m).await;
        assert_eq!(first_code(&body), "NOT_FOUND", "{m}: {body}");
    }
    let still =
        app.data(r#"{ accountByExternalId(externalId: "acc-ana-main") { name status version } }"#, json!({})).await;
    assert_eq!(still["accountByExternalId"], json!({"name": "Ana personal", "status": "ACTIVE", "version": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_tokens() {
    let flags = ["--jwt-secret", SECRET, "--jwt-issuer", "https://issuer.test", "--jwt-audience", "gateway"];
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let org = demo_org(&app).await;
    let ok = format!("Bearer {}", hs256(&claims(&org, "OPERATOR", 300)));
    let (status, body) =
        call(&app, &[("authorization", &ok)], "{ viewer { role subject organization { name } } }").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["data"]["viewer"],
        json!({"role": "OPERATOR", "subject": "alice", "organization": {"name": "demo"}})
    );
    let mut bad: Vec<(&str, String)> = Vec::new();
    bad.push(("expired", hs256(&claims(&org, "ADMIN", -120))));
    let mut nbf = claims(&org, "ADMIN", 300);
    nbf["nbf"] = json!(chrono::Utc::now().timestamp() + 120);
    bad.push(("not yet valid", hs256(&nbf)));
    let mut aud = claims(&org, "ADMIN", 300);
    aud["aud"] = json!("someone-else");
    bad.push(("wrong audience", hs256(&aud)));
    let mut iss = claims(&org, "ADMIN", 300);
    iss["iss"] = json!("https://evil.test");
    bad.push(("wrong issuer", hs256(&iss)));
    bad.push(("bad role", hs256(&claims(&org, "ROOT", 300))));
    let wrong_key = encode(
        &Header::new(Algorithm::HS256),
        &claims(&org, "ADMIN", 300),
        &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
    )
    .unwrap();
    bad.push(("wrong key", wrong_key));
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let none_body = URL_SAFE_NO_PAD.encode(claims(&org, "ADMIN", 300).to_string());
    bad.push(("alg none", format!("{none_header}.{none_body}.")));
    let hs384 = encode(
        &Header::new(Algorithm::HS384),
        &claims(&org, "ADMIN", 300),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    bad.push(("another algorithm", hs384));
    bad.push(("garbage", "not.a.token".to_owned()));
    for (why, token) in bad {
        let (status, body) = call(&app, &[("authorization", &format!("Bearer {token}"))], "{ viewer { role } }").await;
        assert_eq!(
            (status, first_code(&body).as_str()),
            (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
            "{why}: {body}"
        );
        // Our words, never the JWT library's ("JSON error: unknown variant `none` ...").
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(!message.contains("JSON error") && !message.contains("variant"), "{why}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_es256_and_jwks() {
    let rsa_pub = format!("{FIXTURES}/rsa_public.pem");
    let app = TestApp::spawn_with(Backend::Sqlite, &["--jwt-public-key-file", &rsa_pub, "--jwt-algorithm", "RS256"])
        .await
        .unwrap();
    let org = demo_org(&app).await;
    let rsa_key = EncodingKey::from_rsa_pem(&std::fs::read(format!("{FIXTURES}/rsa_private.pem")).unwrap()).unwrap();
    let good = encode(&Header::new(Algorithm::RS256), &claims(&org, "VIEWER", 300), &rsa_key).unwrap();
    let (status, body) = call(&app, &[("authorization", &format!("Bearer {good}"))], "{ viewer { role } }").await;
    assert_eq!((status, body["data"]["viewer"]["role"].clone()), (StatusCode::OK, json!("VIEWER")));
    // HS/RS confusion: an HS256 token "signed" with the public key must fail.
    let public_pem = std::fs::read(&rsa_pub).unwrap();
    let confused =
        encode(&Header::new(Algorithm::HS256), &claims(&org, "ADMIN", 300), &EncodingKey::from_secret(&public_pem))
            .unwrap();
    let (status, _) = call(&app, &[("authorization", &format!("Bearer {confused}"))], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let ec_pub = format!("{FIXTURES}/ec_public.pem");
    let app = TestApp::spawn_with(Backend::Sqlite, &["--jwt-public-key-file", &ec_pub, "--jwt-algorithm", "ES256"])
        .await
        .unwrap();
    let org = demo_org(&app).await;
    let ec_key = EncodingKey::from_ec_pem(&std::fs::read(format!("{FIXTURES}/ec_private.pem")).unwrap()).unwrap();
    let good = encode(&Header::new(Algorithm::ES256), &claims(&org, "ADMIN", 300), &ec_key).unwrap();
    let (status, _) = call(&app, &[("authorization", &format!("Bearer {good}"))], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::OK);
    let rs_on_es = encode(&Header::new(Algorithm::RS256), &claims(&org, "ADMIN", 300), &rsa_key).unwrap();
    let (status, _) = call(&app, &[("authorization", &format!("Bearer {rs_on_es}"))], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the algorithm is pinned");

    let jwks = format!("{FIXTURES}/jwks.json");
    let app = TestApp::spawn_with(Backend::Sqlite, &["--jwks-file", &jwks, "--jwt-algorithm", "RS256"]).await.unwrap();
    let org = demo_org(&app).await;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("test-rsa".into());
    let good = encode(&header, &claims(&org, "ADMIN", 300), &rsa_key).unwrap();
    let (status, _) = call(&app, &[("authorization", &format!("Bearer {good}"))], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::OK);
    header.kid = Some("unknown".into());
    let unknown = encode(&header, &claims(&org, "ADMIN", 300), &rsa_key).unwrap();
    let (status, _) = call(&app, &[("authorization", &format!("Bearer {unknown}"))], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_is_loopback_only() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--dev"]).await.unwrap();
    let (status, body) = call(&app, &[], "{ viewer { role subject } }").await;
    assert_eq!((status, body["data"]["viewer"]["subject"].clone()), (StatusCode::OK, json!("dev")));
    let url =
        format!("sqlite://{}/ag-dev-{}.db?mode=rwc", std::env::temp_dir().display(), uuid::Uuid::new_v4().simple());
    let cli = <accounts_gateway::config::Cli as clap::Parser>::parse_from([
        "x",
        "--dev",
        "--bind",
        "0.0.0.0:0",
        "--database-url",
        &url,
    ]);
    let refused = accounts_gateway::app::Application::build(&cli.settings).await;
    assert!(refused.is_err(), "--dev on a public address is refused");
}

/// Any page the developer opens could otherwise drive the anonymous ADMIN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_mode_answers_loopback_pages_only() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--dev"]).await.unwrap();
    let create = r#"mutation { createProject(name: "From a page") { name } }"#;
    let (status, _) = call(&app, &[("origin", "http://evil.example")], create).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let ws = format!("{}/graphql", app.base.replacen("http://", "ws://", 1));
    let mut upgrade = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws).unwrap();
    upgrade.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    upgrade.headers_mut().insert("Origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(upgrade).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), StatusCode::FORBIDDEN),
        other => panic!("the upgrade was not refused: {:?}", other.map(|_| ())),
    }
    let projects = app.data("{ projects { name } }", json!({})).await;
    assert!(!projects.to_string().contains("From a page"), "{projects}");
    let (status, body) = call(&app, &[("origin", "http://localhost:5173")], "{ viewer { subject } }").await;
    assert_eq!((status, body["data"]["viewer"]["subject"].clone()), (StatusCode::OK, json!("dev")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_per_credential() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--rate-limit-per-second", "1", "--rate-limit-burst", "3"])
        .await
        .unwrap();
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = call(&app, &[("x-api-key", &app.key)], "{ viewer { role } }").await;
        statuses.push((status.as_u16(), first_code(&body)));
    }
    assert_eq!(statuses[..3].iter().filter(|(s, _)| *s == 200).count(), 3);
    assert_eq!(statuses[4], (429, "LIMIT_EXCEEDED".to_owned()));
    let (_, other) = api_keys::create(&app.db, "demo", Role::Viewer, "other").await.unwrap();
    let (status, _) = call(&app, &[("x-api-key", &other)], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::OK, "another credential has its own bucket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allow_list() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--cors-origins", "https://app.example"]).await.unwrap();
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-api-key,content-type")
            .send()
    };
    let ok = preflight("https://app.example").await.unwrap();
    assert_eq!(
        ok.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned()),
        Some("https://app.example".into())
    );
    let no = preflight("https://evil.example").await.unwrap();
    assert!(no.headers().get("access-control-allow-origin").is_none());
}

/// `CORS_ORIGINS='*'` allows any origin (it panicked at start), and a value
/// that is no origin is a one-line error at start, never a silent no-op.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_any_origin_and_bad_origins() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--cors-origins", "*"]).await.unwrap();
    let any = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, format!("{}/graphql", app.base))
        .header("origin", "https://anywhere.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-api-key,content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(
        any.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned()),
        Some("*".into())
    );
    let bin = env!("CARGO_BIN_EXE_accounts-gateway");
    let db = std::env::temp_dir().join(format!("ag-test-{}.db", uuid::Uuid::new_v4().simple()));
    let out = std::process::Command::new(bin)
        .args(["--bind", "127.0.0.1:0", "--database-url", &format!("sqlite://{}?mode=rwc", db.display())])
        .env("CORS_ORIGINS", "app.example/")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "an error, not a panic: {stderr}");
    assert!(stderr.contains("CORS_ORIGINS") && !stderr.contains("panicked"), "{stderr}");
}

/// `--help` never prints a secret from the environment: URLs carry
/// passwords.
#[test]
fn help_hides_the_values_of_urls_and_secrets() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-gateway"))
        .arg("--help")
        .env("DATABASE_URL", "postgres://gw:db-password-value@db.internal/ledger")
        .env("REDIS_URL", "redis://:redis-password-value@cache.internal")
        .env("DATABASE_READ_URL", "postgres://gw:read-password-value@replica.internal/ledger")
        .env("QUOTE_API_URL", "https://quotes.example/?key=url-key-value")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("DATABASE_URL"), "{help}");
    for secret in ["db-password-value", "redis-password-value", "read-password-value", "url-key-value"] {
        assert!(!help.contains(secret), "{secret} in --help");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_creates_lists_and_revokes_keys() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let url = app.db_url.clone();
    let bin = env!("CARGO_BIN_EXE_accounts-gateway");
    let out = std::process::Command::new(bin)
        .args(["api-key", "create", "--org", "newco", "--role", "operator", "--name", "ci", "--database-url", &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.lines().last().unwrap().trim().to_owned();
    assert!(key.starts_with("agk_"));
    let (_, body) = call(&app, &[("x-api-key", &key)], "{ viewer { role organization { name } } }").await;
    assert_eq!(body["data"]["viewer"], json!({"role": "OPERATOR", "organization": {"name": "newco"}}));
    let list = std::process::Command::new(bin)
        .args(["api-key", "list", "--org", "newco", "--database-url", &url])
        .output()
        .unwrap();
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains("ci") && !listed.contains(&key), "{listed}");
    let prefix = &key[..12];
    let revoke =
        std::process::Command::new(bin).args(["api-key", "revoke", prefix, "--database-url", &url]).output().unwrap();
    assert!(revoke.status.success(), "{}", String::from_utf8_lossy(&revoke.stderr));
    let (status, _) = call(&app, &[("x-api-key", &key)], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The pids of the backends listening for API key changes.
async fn key_listeners(app: &TestApp) -> Vec<i32> {
    use sea_orm::{ConnectionTrait, Statement};
    let sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'";
    let rows = app.db.query_all_raw(Statement::from_string(app.db.get_database_backend(), sql)).await.unwrap();
    rows.iter().map(|r| r.try_get_by_index::<i32>(0).unwrap()).collect()
}

/// Waits until `key` is refused: the revocation's notification arrived.
async fn wait_refused(app: &TestApp, key: &str) {
    crate::services::wait_until("the revoked key refused", std::time::Duration::from_secs(10), || async {
        call(app, &[("x-api-key", key)], "{ __typename }").await.0 == StatusCode::UNAUTHORIZED
    })
    .await;
}

/// On PostgreSQL a key checked once is answered from memory (no statement),
/// and forgotten when PostgreSQL reports it changed, whoever changed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_key_is_remembered_until_it_changes() {
    use sea_orm::ConnectionTrait;
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    crate::services::wait_until("listening for key changes", std::time::Duration::from_secs(10), || async {
        app.metric("gateway_api_key_cache_listening").await == 1
    })
    .await;
    let (row, key) = api_keys::create(&app.db, "demo", Role::Viewer, "remembered").await.unwrap();
    assert_eq!(call(&app, &[("x-api-key", &key)], "{ __typename }").await.0, StatusCode::OK);
    let before = app.statements().await;
    let (status, body) = call(&app, &[("x-api-key", &key)], "{ viewer { role subject } }").await;
    assert_eq!(body["data"]["viewer"], json!({"role": "VIEWER", "subject": "key:remembered"}), "{status}");
    assert_eq!(app.statements().await - before, 0, "the key came from memory");
    // Revoked through another connection than the gateway's, as the CLI does.
    api_keys::revoke(&app.db, &row.id.to_string()).await.unwrap();
    wait_refused(&app, &key).await;

    // A lost listening connection: the replica listens again and still
    // hears revocations (anything it missed meanwhile was forgotten).
    let (row, key) = api_keys::create(&app.db, "demo", Role::Viewer, "second").await.unwrap();
    assert_eq!(call(&app, &[("x-api-key", &key)], "{ __typename }").await.0, StatusCode::OK);
    let old = key_listeners(&app).await;
    assert_eq!(old.len(), 1, "one listening connection: {old:?}");
    app.db.execute_unprepared(&format!("SELECT pg_terminate_backend({})", old[0])).await.unwrap();
    crate::services::wait_until("listening again", std::time::Duration::from_secs(20), || async {
        let now = key_listeners(&app).await;
        now.len() == 1 && now != old && app.metric("gateway_api_key_cache_listening").await == 1
    })
    .await;
    assert_eq!(call(&app, &[("x-api-key", &key)], "{ __typename }").await.0, StatusCode::OK);
    api_keys::revoke(&app.db, &row.id.to_string()).await.unwrap();
    wait_refused(&app, &key).await;
}

/// `--api-key-cache false` (a database behind a pooler that drops
/// notifications): every request reads its key, and a revocation made
/// anywhere refuses the very next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_the_key_cache_can_be_turned_off() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, &["--api-key-cache", "false"]).await else { return };
    assert_eq!(app.metric("gateway_api_key_cache_listening").await, 0);
    let (row, key) = api_keys::create(&app.db, "demo", Role::Viewer, "uncached").await.unwrap();
    assert_eq!(call(&app, &[("x-api-key", &key)], "{ __typename }").await.0, StatusCode::OK);
    let before = app.statements().await;
    assert_eq!(call(&app, &[("x-api-key", &key)], "{ __typename }").await.0, StatusCode::OK);
    assert_eq!(app.statements().await - before, 1, "the key was read again");
    api_keys::revoke(&app.db, &row.id.to_string()).await.unwrap();
    assert_eq!(call(&app, &[("x-api-key", &key)], "{ __typename }").await.0, StatusCode::UNAUTHORIZED);
}

/// What a key guesser gets: 401 until its address has failed too often,
/// then 429 with Retry-After, each unknown key looked up at most once;
/// a key that worked a moment ago from the same address still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentication_is_limited_per_address() {
    let flags = ["--auth-failure-burst", "5", "--auth-failures-per-minute", "1"];
    let app = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let (status, _) = call(&app, &[("x-api-key", &app.key)], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::OK);
    let statements = |text: &str| crate::metrics::sample(text, "gateway_db_statements_per_request_sum", &[]);
    let guess = |i: usize| format!("agk_{i:0>40}");
    let before = crate::metrics::metrics_text(&app).await;
    let (status, _) = call(&app, &[("x-api-key", &guess(0))], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let once = crate::metrics::metrics_text(&app).await;
    let (status, _) = call(&app, &[("x-api-key", &guess(0))], "{ viewer { role } }").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let twice = crate::metrics::metrics_text(&app).await;
    assert!(statements(&once) > statements(&before), "the first miss is read");
    assert_eq!(statements(&twice), statements(&once), "the same unknown key again is answered from memory");
    let mut statuses = Vec::new();
    for i in 1..=6 {
        let resp = reqwest::Client::new()
            .post(format!("{}/graphql", app.base))
            .header("x-api-key", guess(i))
            .json(&json!({"query": "{ viewer { role } }"}))
            .send()
            .await
            .unwrap();
        statuses.push((resp.status().as_u16(), resp.headers().get("retry-after").is_some()));
    }
    assert_eq!(statuses[..3], [(401, false); 3], "{statuses:?}");
    assert_eq!(statuses[4..], [(429, true); 2], "{statuses:?}");
    let (status, body) = call(&app, &[("x-api-key", &app.key)], "{ viewer { role } }").await;
    assert_eq!((status, body["data"]["viewer"]["role"].clone()), (StatusCode::OK, json!("ADMIN")), "{body}");
}

/// Two keys named alike would be one bucket and one actor in the audit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_its_own_identity() {
    let app = TestApp::spawn_with(Backend::Sqlite, &["--rate-limit-per-second", "1", "--rate-limit-burst", "1"])
        .await
        .unwrap();
    let refused = api_keys::create(&app.db, "demo", Role::Viewer, "initial-admin").await;
    assert_eq!(refused.err().map(|e| e.code()), Some("CONFLICT"), "a name names one key");
    // Two keys named alike, as a database from before that rule may hold.
    let (_, one) = api_keys::create(&app.db, "demo", Role::Viewer, "twin").await.unwrap();
    let (row, two) = api_keys::create(&app.db, "demo", Role::Viewer, "twin-2").await.unwrap();
    let mut renamed: entity::api_key::ActiveModel = row.into();
    renamed.name = sea_orm::Set("twin".into());
    sea_orm::ActiveModelTrait::update(renamed, &app.db).await.unwrap();
    for key in [&one, &two] {
        let (status, _) = call(&app, &[("x-api-key", key)], "{ viewer { role } }").await;
        assert_eq!(status, StatusCode::OK, "each key has its own bucket");
    }
}
