//! `TestApp`: the real server on port 0 over a fresh database.

use accounts_gateway::app::Application;
use accounts_gateway::clock::Clock;
use accounts_gateway::config::Cli;
use accounts_gateway::service::store::Store;
use clap::Parser;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use uuid::Uuid;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn require_services() -> bool {
    std::env::var("REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Notes that the running test cannot run here (`why`): it fails when
/// `REQUIRE_SERVICES=1`; otherwise it says so and, when `TEST_SKIP_LOG`
/// names a file, adds its name there, so that `.ci/run`'s closing line
/// counts it as skipped rather than passed. The caller then returns.
pub fn skip(why: impl std::fmt::Display) {
    assert!(!require_services(), "REQUIRE_SERVICES=1 but {why}");
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    eprintln!("skipped: {test}: {why}");
    if let Ok(path) = std::env::var("TEST_SKIP_LOG") {
        use std::io::Write;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path);
        let _ = file.and_then(|mut f| writeln!(f, "{test}"));
    }
}

/// A fresh, empty database URL for one test, or `None` to skip.
pub async fn fresh_database(backend: Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => {
            let path = std::env::temp_dir().join(format!("ag-test-{}.db", Uuid::new_v4().simple()));
            Some(format!("sqlite://{}?mode=rwc", path.display()))
        }
        Backend::Postgres => {
            let Ok(base) = std::env::var("DATABASE_URL") else {
                skip("DATABASE_URL is not set");
                return None;
            };
            let admin = match Database::connect(base.clone()).await {
                Ok(db) => db,
                Err(e) => {
                    skip(format!("PostgreSQL at DATABASE_URL is unreachable: {e}"));
                    return None;
                }
            };
            let name = format!("ag_test_{}", Uuid::new_v4().simple());
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
            let (prefix, _) = base.rsplit_once('/').expect("DATABASE_URL has a database path");
            Some(format!("{prefix}/{name}"))
        }
    }
}

/// A running gateway and a client for it.
pub struct TestApp {
    pub base: String,
    pub db: DatabaseConnection,
    pub store: Store,
    /// A client that sends the admin key on every request.
    pub http: reqwest::Client,
    /// The admin key.
    pub key: String,
    /// The database URL the gateway runs on.
    pub db_url: String,
    /// Ends the server (as SIGTERM would).
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The server's clock: `advance` it to cross a TTL without waiting.
    pub clock: Clock,
}

/// The clock a test server reads: noon on the 15th of the current month,
/// then running. Calendar rules (a card expiring at the end of the month)
/// give the same answer whatever the day and hour the suite runs, while
/// the instant stays within days of the wall clock that JWT expiry and the
/// database's own timestamps use.
pub fn test_clock() -> Clock {
    use chrono::{Datelike, TimeZone, Utc};
    let today = Utc::now();
    let noon = Utc.with_ymd_and_hms(today.year(), today.month(), 15, 12, 0, 0).single().expect("a valid date");
    Clock::starting_at(noon)
}

/// The card key file of a server database: one per database, so that
/// replicas over one database share it and tests never share one.
pub fn key_file_for(url: &str) -> String {
    let name = format!("ag-{}.card-key", url.replace(|c: char| !c.is_ascii_alphanumeric(), "_"));
    std::env::temp_dir().join(name).display().to_string()
}

impl TestApp {
    /// A second gateway over this one's database (a replica), with `flags`.
    pub async fn sibling(&self, flags: &[&str]) -> TestApp {
        let mut args = vec!["accounts-gateway", "--bind", "127.0.0.1:0", "--database-url", &self.db_url];
        if !flags.contains(&"--rate-limit-per-second") {
            args.extend_from_slice(&["--rate-limit-per-second", "0"]);
        }
        let key_file = key_file_for(&self.db_url);
        if self.db_url.starts_with("postgres") && !flags.contains(&"--card-key-file") {
            args.extend_from_slice(&["--card-key-file", &key_file]);
        }
        args.extend_from_slice(flags);
        let cli = Cli::parse_from(args);
        let app = Application::build_with_clock(&cli.settings, self.clock.clone()).await.expect("replica starts");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let base = format!("http://127.0.0.1:{}", app.port());
        let (db, store) = (app.db().clone(), app.store().clone());
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-api-key", self.key.parse().expect("header value"));
        let http = reqwest::Client::builder().default_headers(headers).build().expect("client");
        let (key, db_url, clock) = (self.key.clone(), self.db_url.clone(), self.clock.clone());
        TestApp { base, db, store, http, key, db_url, stop: Some(stop), clock }
    }

    /// Starts the gateway with the demo data set, or `None` when the
    /// backend is not available (and not required).
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, &[]).await
    }

    /// Like `spawn`, with extra command-line flags.
    pub async fn spawn_with(backend: Backend, flags: &[&str]) -> Option<TestApp> {
        let url = fresh_database(backend).await?;
        Some(Self::spawn_on(&url, flags).await)
    }

    /// The gateway over the database at `url`, with extra flags.
    pub async fn spawn_on(url: &str, flags: &[&str]) -> TestApp {
        let mut args = vec!["accounts-gateway", "--bind", "127.0.0.1:0", "--database-url", url];
        if !flags.contains(&"--database-max-connections") {
            args.extend_from_slice(&["--database-max-connections", "8"]);
        }
        // A Redis key space of its own (REDIS_URL may come from the
        // environment), unless the test shares one on purpose.
        let prefix = format!("t{}:", Uuid::new_v4().simple());
        if !flags.contains(&"--redis-prefix") {
            args.extend_from_slice(&["--redis-prefix", &prefix]);
        }
        // Tests fire bursts on purpose; the rate-limit test turns it back on.
        if !flags.contains(&"--rate-limit-per-second") {
            args.extend_from_slice(&["--rate-limit-per-second", "0"]);
        }
        // A debug build on a loaded 2-core machine may take minutes over a
        // 10,000-row import; the time-limit test sets its own.
        if !flags.contains(&"--request-timeout-ms") {
            args.extend_from_slice(&["--request-timeout-ms", "600000"]);
        }
        let key_file = key_file_for(url);
        if url.starts_with("postgres") && !flags.contains(&"--card-key-file") {
            args.extend_from_slice(&["--card-key-file", &key_file]);
        }
        args.extend_from_slice(flags);
        let cli = Cli::parse_from(args);
        let clock = test_clock();
        let app = Application::build_with_clock(&cli.settings, clock.clone()).await.expect("gateway starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.db().clone();
        let store = app.store().clone();
        // The admin key a new database gets at first start: what a newcomer uses.
        let key = app.initial_admin_key().expect("a new database prints an admin key").to_owned();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-api-key", key.parse().expect("header value"));
        let http = reqwest::Client::builder().default_headers(headers).build().expect("client");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        TestApp { base, db, store, http, key, db_url: url.to_owned(), stop: Some(stop), clock }
    }

    /// POSTs a GraphQL request and returns the JSON body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .await
            .expect("request sent");
        resp.json().await.expect("JSON body")
    }

    /// Like `gql`, asserting there are no errors, and returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// SQL statements the server has sent so far, from `/metrics`.
    pub async fn statements(&self) -> u64 {
        self.metric("gateway_db_statements_total").await
    }

    /// Waits until `n` subscriptions listen for events on this server:
    /// what a test needs before it makes the change they should hear.
    pub async fn wait_subscribers(&self, n: u64) {
        crate::services::wait_until(&format!("{n} subscribers"), std::time::Duration::from_secs(10), || async {
            self.metric("gateway_event_subscribers").await == n
        })
        .await;
    }

    /// A counter from `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let url = format!("{}/metrics", self.base);
        let text = self.http.get(url).send().await.expect("metrics").text().await.expect("text");
        let prefix = format!("{name} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).expect("counter")
    }
}

impl TestApp {
    /// Runs a query that must fail; returns (code, first detail field).
    pub async fn error(&self, query: &str, variables: Value) -> (String, String) {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_some(), "expected an error: {body:#}");
        let field = body["errors"][0]["extensions"]["details"][0]["field"].as_str().unwrap_or_default().to_owned();
        (first_code(&body), field)
    }

    /// The id of the account with this external id.
    pub async fn account_id(&self, external_id: &str) -> Value {
        let d = self
            .data("query($e: String!) { accountByExternalId(externalId: $e) { id } }", json!({"e": external_id}))
            .await;
        d["accountByExternalId"]["id"].clone()
    }

    /// The id of the client with this external id (via its accounts).
    pub async fn client_id(&self, external_id: &str) -> Value {
        let d = self
            .data("query($e: String) { clients(filter: {externalId: $e}) { nodes { id } } }", json!({"e": external_id}))
            .await;
        d["clients"]["nodes"][0]["id"].clone()
    }
}

/// Flags that point the gateway at the test Redis with a key prefix of its
/// own, or `None` (skip) when `REDIS_URL` is unset and not required.
pub fn redis_flags() -> Option<Vec<String>> {
    match std::env::var("REDIS_URL") {
        Ok(url) => {
            Some(vec!["--redis-url".into(), url, "--redis-prefix".into(), format!("t{}:", Uuid::new_v4().simple())])
        }
        Err(_) => {
            skip("REDIS_URL is not set");
            None
        }
    }
}

/// `&[String]` as the `&[&str]` that `spawn_with` takes.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The error code of the first error of a response.
pub fn first_code(body: &Value) -> String {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
}

/// Runs each listed `async fn(TestApp)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),+ $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                        super::$name(app).await;
                    }
                }
            )+
        }
    };
}
