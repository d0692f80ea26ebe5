//! `/metrics`: request latency by operation (names bounded), errors by
//! code, SQL statements per request, the pool, rate-limit refusals.

use crate::helpers::{Backend, TestApp};
use serde_json::json;

pub(crate) async fn metrics_text(app: &TestApp) -> String {
    let url = format!("{}/metrics", app.base);
    app.http.get(url).send().await.expect("metrics").text().await.expect("text")
}

/// The value of the sample `name` whose labels include every one of `labels`.
pub(crate) fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

async fn requests_are_measured_by_operation_and_code(app: TestApp) {
    let before = metrics_text(&app).await;
    let statements_before = sample(&before, "gateway_db_statements_total", &[]).unwrap_or(0.0);
    let page =
        "query PageOfAccounts { accounts(first: 5) { nodes { name owner { name } assets { currency { code } } } } }";
    app.data(page, json!({})).await;
    // One account: its owner and assets come through DataLoader tasks,
    // which must count for this request too.
    let one = r#"query OneAccount { accountByExternalId(externalId: "acc-ana-main") { owner { name } assets { wallets { address } } } }"#;
    app.data(one, json!({})).await;
    let (code, _) = app.error("{ accounts(first: 501) { totalCount } }", json!({})).await;
    let text = metrics_text(&app).await;
    let count = "gateway_graphql_request_duration_seconds_count";
    let page_ok = [r#"operation="PageOfAccounts""#, r#"type="query""#, r#"outcome="ok""#];
    assert_eq!(sample(&text, count, &page_ok), Some(1.0), "{text}");
    assert_eq!(sample(&text, count, &[r#"operation="OneAccount""#, r#"outcome="ok""#]), Some(1.0));
    assert_eq!(sample(&text, count, &[r#"operation="anonymous""#, r#"outcome="error""#]), Some(1.0));
    let code_label = format!(r#"code="{code}""#);
    assert_eq!(sample(&text, "gateway_graphql_errors_by_code_total", &[&code_label]), Some(1.0), "{text}");
    // Every statement of these requests is in the per-request histogram
    // (the /metrics reads themselves send none).
    let statements = sample(&text, "gateway_db_statements_total", &[]).unwrap_or(0.0) - statements_before;
    let per_request = sample(&text, "gateway_db_statements_per_request_sum", &[]).unwrap_or(0.0)
        - sample(&before, "gateway_db_statements_per_request_sum", &[]).unwrap_or(0.0);
    assert!(statements >= 4.0, "{statements} statements");
    assert_eq!(per_request, statements, "statements of loader tasks count for their request");
    assert!(sample(&text, "gateway_db_pool_connections", &[r#"state="idle""#]).is_some(), "{text}");
    assert!(sample(&text, "gateway_db_pool_connections", &[r#"state="in_use""#]).is_some());
}

crate::backend_tests!(requests_are_measured_by_operation_and_code);

#[tokio::test]
async fn operation_names_are_bounded_per_organization() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let per_org = accounts_gateway::metrics::MAX_OPERATIONS_PER_ORGANIZATION;
    for i in 0..per_org + 5 {
        app.data(&format!("query Op{i} {{ __typename }}"), json!({})).await;
    }
    // Another tenant's names still get labels of their own.
    let (_, other) = accounts_gateway::service::api_keys::create(
        &app.db,
        "elsewhere",
        accounts_gateway::domain::Role::Viewer,
        "names",
    )
    .await
    .unwrap();
    let post = reqwest::Client::new().post(format!("{}/graphql", app.base)).header("x-api-key", other);
    let resp = post.json(&json!({"query": "query TheirOwn { __typename }"})).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let text = metrics_text(&app).await;
    let labels: std::collections::HashSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("gateway_graphql_request_duration_seconds_count{"))
        .filter_map(|l| l.split("operation=\"").nth(1)?.split('"').next())
        .collect();
    assert!(labels.contains("other"), "names past the bound count as other");
    assert!(labels.contains("TheirOwn"), "one tenant's names do not crowd out another's");
    assert!(labels.len() <= per_org + 2, "{} labels", labels.len());
    assert_eq!(sample(&text, "gateway_graphql_request_duration_seconds_count", &[r#"operation="other""#]), Some(5.0));
}

#[tokio::test]
async fn rate_limit_refusals_are_counted() {
    let flags = ["--rate-limit-per-second", "1", "--rate-limit-burst", "1"];
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, &flags).await else { return };
    let mut refused = 0;
    for _ in 0..50 {
        let resp = app.http.post(format!("{}/graphql", app.base)).json(&json!({"query": "{ __typename }"})).send();
        if resp.await.expect("answer").status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused > 0, "fifty requests against a burst of one");
    let text = metrics_text(&app).await;
    assert_eq!(sample(&text, "gateway_rate_limited_total", &[]), Some(refused as f64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_rate_limit_through_redis() {
    let Some(redis) = crate::helpers::redis_flags() else { return };
    let mut flags = crate::helpers::strs(&redis);
    flags.extend(["--rate-limit-per-second", "1", "--rate-limit-burst", "4"]);
    let Some(one) = TestApp::spawn_with(Backend::Sqlite, &flags).await else { return };
    let two = one.sibling(&flags).await;
    let started = std::time::Instant::now();
    let mut allowed = 0;
    for i in 0..16 {
        let app = if i % 2 == 0 { &one } else { &two };
        let resp = app.http.post(format!("{}/graphql", app.base)).json(&json!({"query": "{ __typename }"})).send();
        if resp.await.expect("answer").status() == reqwest::StatusCode::OK {
            allowed += 1;
        }
    }
    // One bucket for both: its burst plus what refilled meanwhile (a
    // bucket per replica would have let eight through at once).
    let refilled = started.elapsed().as_secs_f64().ceil();
    assert!(allowed >= 4, "the burst is served");
    assert!(f64::from(allowed) <= 4.0 + refilled, "{allowed} allowed in {refilled} s across two replicas");
    let refused = sample(&metrics_text(&one).await, "gateway_rate_limited_total", &[]).unwrap_or(0.0)
        + sample(&metrics_text(&two).await, "gateway_rate_limited_total", &[]).unwrap_or(0.0);
    assert_eq!(refused, f64::from(16 - allowed));
}

/// Operation names are every tenant's: `METRICS_BIND` takes `/metrics` off
/// the public address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_listen_apart() {
    let url =
        format!("sqlite://{}/ag-mb-{}.db?mode=rwc", std::env::temp_dir().display(), uuid::Uuid::new_v4().simple());
    let cli = <accounts_gateway::config::Cli as clap::Parser>::parse_from([
        "x",
        "--bind",
        "127.0.0.1:0",
        "--metrics-bind",
        "127.0.0.1:0",
        "--database-url",
        &url,
    ]);
    let app = accounts_gateway::app::Application::build(&cli.settings).await.unwrap();
    let (main, apart) = (app.local_addr().unwrap(), app.metrics_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let public = reqwest::get(format!("http://{main}/metrics")).await.unwrap();
    assert_eq!(public.status().as_u16(), 404, "not on the main address");
    let scraped = reqwest::get(format!("http://{apart}/metrics")).await.unwrap();
    assert_eq!(scraped.status().as_u16(), 200);
    assert!(scraped.text().await.unwrap().contains("gateway_db_pool_connections"));
    let _ = stop.send(());
}
