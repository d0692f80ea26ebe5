//! The quote cache against a quote server the test runs: TTL, stale
//! fallback, refusing bad rates, single flight, the batch bound, and Redis
//! being unreachable, going away, or shared by two instances.

use crate::helpers::{redis_flags, strs, Backend, TestApp};
use crate::quote_server::{Mode, QuoteServer};
use crate::services::OwnRedis;
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;

const BTC: &str = r#"{ quotes(currencies: ["BTC"]) { currency usdRate stale source } }"#;

async fn spawn(server: &QuoteServer, fresh: u64, extra: &[String]) -> TestApp {
    let mut flags = server.flags(fresh);
    flags.extend_from_slice(extra);
    TestApp::spawn_with(Backend::Sqlite, &strs(&flags)).await.expect("sqlite is always there")
}

async fn btc(app: &TestApp) -> Value {
    app.data(BTC, json!({})).await["quotes"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_and_stale_fallback() {
    let server = QuoteServer::start().await;
    let app = spawn(&server, 1, &[]).await;
    assert_eq!(btc(&app).await, json!({"currency": "BTC", "usdRate": "67000.5", "stale": false, "source": "http"}));
    assert_eq!(server.calls(), 1);
    btc(&app).await;
    assert_eq!(server.calls(), 1, "fresh quotes come from the cache");
    app.clock.advance(Duration::from_millis(1100));
    btc(&app).await;
    assert_eq!(server.calls(), 2, "an expired quote is fetched again");
    server.set(Mode::Fail);
    app.clock.advance(Duration::from_millis(1100));
    let stale = btc(&app).await;
    assert_eq!(stale["usdRate"], "67000.5");
    assert_eq!(stale["stale"], true, "the last good quote, marked stale");
    assert!(app.metric("gateway_quote_source_errors_total").await >= 1);
    assert!(app.metric("gateway_quote_stale_served_total").await >= 1);
    let v = app.data(r#"{ accountByExternalId(externalId: "acc-john-crypto") { balance { complete assets { stale usdValue } } } }"#, json!({})).await;
    assert_eq!(v["accountByExternalId"]["balance"]["complete"], false, "ETH was never fetched, so it has no quote");
    server.set(Mode::Slow(Duration::from_millis(1500)));
    app.clock.advance(Duration::from_secs(6));
    let slow = btc(&app).await;
    assert_eq!(slow["stale"], true, "a source slower than its timeout counts as down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rates_are_never_cached() {
    let server = QuoteServer::start().await;
    server.set(Mode::Body(json!({"BTC": "NaN", "ETH": 0, "USDC": -1, "EUR": "<html>error</html>"})));
    let app = spawn(&server, 60, &[]).await;
    let q = r#"{ quotes(currencies: ["BTC", "ETH", "USDC", "EUR"]) { currency usdRate source } }"#;
    assert_eq!(app.data(q, json!({})).await["quotes"], json!([]));
    server.set(Mode::Body(json!("<html>502</html>")));
    app.clock.advance(Duration::from_secs(6));
    assert_eq!(app.data(q, json!({})).await["quotes"], json!([]));
    assert_eq!(server.calls(), 2, "each answer came from the source, not from a cache of the bad one");
    server.set(Mode::Ok);
    app.clock.advance(Duration::from_secs(6));
    let good = app.data(q, json!({})).await["quotes"].as_array().unwrap().len();
    assert_eq!(good, 4, "nothing bad was cached in between");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_outage_costs_one_timeout_per_currency_per_window() {
    let server = QuoteServer::start().await;
    let app = spawn(&server, 1, &[]).await;
    assert_eq!(btc(&app).await["stale"], false);
    server.set(Mode::Slow(Duration::from_millis(1500)));
    app.clock.advance(Duration::from_millis(1100));
    assert_eq!(btc(&app).await["stale"], true, "the timeout is paid once");
    assert_eq!(server.calls(), 2);
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert_eq!(btc(&app).await["stale"], true);
    }
    assert_eq!(server.calls(), 2, "inside the window the source is not asked again");
    assert!(started.elapsed() < Duration::from_secs(1), "and no request pays its timeout");
    assert!(app.metric("gateway_quote_backoff_skips_total").await >= 20);
    // ETH failed nowhere yet: it is still asked for, once.
    let eth = r#"{ quotes(currencies: ["ETH"]) { stale } }"#;
    server.set(Mode::Fail);
    assert_eq!(app.data(eth, json!({})).await["quotes"], json!([]));
    assert_eq!(server.calls(), 3);
    server.set(Mode::Ok);
    app.clock.advance(Duration::from_secs(5));
    assert_eq!(btc(&app).await["stale"], false, "after the window the source is asked again");
    assert_eq!(server.calls(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_organizations_currencies_reach_the_source() {
    let server = QuoteServer::start().await;
    let app = spawn(&server, 60, &[]).await;
    let q = r#"{ quotes(currencies: ["XYZ", "../../admin", "btc"]) { currency } }"#;
    assert_eq!(app.data(q, json!({})).await["quotes"], json!([{"currency": "BTC"}]));
    assert_eq!(server.calls(), 1);
    let unknown = r#"{ quotes(currencies: ["XYZ", "DOGE"]) { currency } }"#;
    assert_eq!(app.data(unknown, json!({})).await["quotes"], json!([]));
    assert_eq!(server.calls(), 1, "unknown codes cost no call");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_call() {
    let server = QuoteServer::start().await;
    server.set(Mode::Slow(Duration::from_millis(300)));
    let mut extra = Vec::new();
    if let Some(r) = redis_flags() {
        extra = r;
    }
    let app = spawn(&server, 60, &extra).await;
    let results = join_all((0..100).map(|_| app.gql(BTC, json!({})))).await;
    for r in &results {
        assert_eq!(r["data"]["quotes"][0]["usdRate"], "67000.5", "{r}");
    }
    assert_eq!(server.calls(), 1, "single flight");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_500_costs_one_batch() {
    let server = QuoteServer::start().await;
    let Some(extra) = redis_flags() else { return };
    let app = spawn(&server, 60, &extra).await;
    let key = app.store.card_key.clone();
    accounts_gateway::service::seed::seed(&app.db, "demo", 600, &key, app.clock.now()).await.unwrap();
    let q = "{ accounts(first: 500) { nodes { balance { total complete } subAccountsBalance { usdTotal } } } }";
    let before = app.metric("gateway_quote_redis_batches_total").await;
    let d = app.data(q, json!({})).await;
    assert_eq!(d["accounts"]["nodes"].as_array().unwrap().len(), 500);
    assert!(d["accounts"]["nodes"].as_array().unwrap().iter().all(|n| n["balance"]["complete"] == true));
    assert_eq!(server.calls(), 1, "one source call for every currency of the page");
    assert_eq!(app.metric("gateway_quote_redis_batches_total").await - before, 1, "one MGET");
    // A second instance over the same Redis finds the quotes there.
    let prefix_flags = extra.clone();
    let other = spawn(&server, 60, &prefix_flags).await;
    other.data(r#"{ quotes(currencies: ["BTC", "ETH"]) { currency } }"#, json!({})).await;
    assert_eq!(server.calls(), 1, "replicas share the Redis layer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_never_fails_a_read() {
    let server = QuoteServer::start().await;
    let app = spawn(&server, 60, &["--redis-url".into(), "redis://127.0.0.1:1".into()]).await;
    assert_eq!(btc(&app).await["usdRate"], "67000.5");
    let v = app.data(r#"{ accountByExternalId(externalId: "acc-ana-main") { balance { total } } }"#, json!({})).await;
    assert_eq!(v["accountByExternalId"]["balance"]["total"], "2148.75");
    assert!(app.metric("gateway_quote_redis_errors_total").await >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_mid_test() {
    // A Redis of this test's own, so that stopping it harms no one else.
    let Some(mut redis) = OwnRedis::start().await else { return };
    let server = QuoteServer::start().await;
    let app = spawn(&server, 1, &["--redis-url".into(), redis.url()]).await;
    assert_eq!(btc(&app).await["usdRate"], "67000.5");
    assert_eq!(app.metric("gateway_quote_redis_errors_total").await, 0, "Redis works at first");
    redis.kill().await;
    app.clock.advance(Duration::from_millis(1100));
    let started = std::time::Instant::now();
    assert_eq!(btc(&app).await["usdRate"], "67000.5");
    assert!(started.elapsed() < Duration::from_secs(2), "a dead Redis costs a timeout, not an outage");
    assert!(app.metric("gateway_quote_redis_errors_total").await >= 1);
    assert_eq!(server.calls(), 2);
}
