//! Redis Cluster (`--redis-cluster-urls`): two gateways over one database
//! and a three-node cluster of the test's own share events, persisted
//! queries, the rate limit and the quote cache through it.

use crate::helpers::{Backend, TestApp};
use crate::services::OwnRedisCluster;
use crate::ws_client::Ws;
use serde_json::{json, Value};

const STATUS_SUB: &str = "subscription($a: UUID) { accountStatusChanged(accountId: $a) { status } }";
const SET: &str = "mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { status } }";

async fn post(app: &TestApp, body: Value) -> (u16, Value) {
    let resp = app.http.post(format!("{}/graphql", app.base)).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_share_events_queries_limits_and_quotes_through_a_cluster() {
    let Some(cluster) = OwnRedisCluster::start().await else { return };
    let urls = cluster.urls();
    let prefix = format!("t{}:", uuid::Uuid::new_v4().simple());
    let flags = ["--redis-cluster-urls", &urls, "--redis-prefix", &prefix];
    let a = TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap();
    let b = a.sibling(&flags).await;

    // Events: a change made through one gateway reaches a subscriber on
    // the other, through the cluster's stream.
    let mei = a.account_id("acc-mei-usdc").await;
    let mut ws = Ws::ready(&b.base, "graphql-transport-ws", &b.key).await;
    ws.subscribe("1", STATUS_SUB, json!({"a": mei})).await;
    b.wait_subscribers(1).await;
    a.data(SET, json!({"id": mei, "s": "ACTIVE"})).await;
    assert_eq!(ws.event().await["data"]["accountStatusChanged"]["status"], "ACTIVE");

    // Persisted queries: registered on one, known to the other.
    use sha2::{Digest, Sha256};
    let query = "{ viewer { role } }";
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hex::encode(Sha256::digest(query.as_bytes()))}});
    let (_, stored) = post(&a, json!({"extensions": ext, "query": query})).await;
    assert_eq!(stored["data"]["viewer"]["role"], "ADMIN");
    let (_, hit) = post(&b, json!({"extensions": ext})).await;
    assert_eq!(hit["data"]["viewer"]["role"], "ADMIN", "the other gateway finds the document: {hit}");

    // Quotes: valued on one gateway, the quote is in the cluster.
    let q = r#"{ accountByExternalId(externalId: "acc-john-crypto") { balance { total complete } } }"#;
    let valued = a.data(q, json!({})).await;
    assert_eq!(valued["accountByExternalId"]["balance"]["complete"], true, "{valued}");
    let client = redis::cluster::ClusterClient::new(urls.split(',').collect::<Vec<_>>()).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    let key = format!("{{{prefix}quote:USD:}}BTC");
    let cached: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    assert!(cached.is_some(), "the BTC quote is cached in the cluster under {key}");

    // Rate limit: one bucket for both gateways.
    let limits = ["--rate-limit-per-second", "1", "--rate-limit-burst", "3"];
    let one = a.sibling(&[&flags[..], &limits[..]].concat()).await;
    let two = a.sibling(&[&flags[..], &limits[..]].concat()).await;
    let started = std::time::Instant::now();
    let mut allowed = 0;
    for i in 0..8 {
        let app = if i % 2 == 0 { &one } else { &two };
        if post(app, json!({"query": "{ __typename }"})).await.0 == 200 {
            allowed += 1;
        }
    }
    // The burst plus what refilled meanwhile (a bucket per gateway would
    // have let six through at once).
    let refilled = started.elapsed().as_secs_f64().ceil();
    assert!(allowed >= 3, "the burst is served");
    assert!(f64::from(allowed) <= 3.0 + refilled, "{allowed} allowed in {refilled} s across two gateways");
}
