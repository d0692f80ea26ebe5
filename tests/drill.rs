#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The fault drill: two gateway replicas over a PostgreSQL and a Redis this
//! test starts itself, under a steady load of reads and idempotent writes,
//! while Redis is killed, PostgreSQL crashes and comes back, and Redis
//! comes back. It prints its figures (they go in BENCHMARKS.md; run it with
//! `cargo test --release --test drill -- --nocapture`) and asserts them:
//! no acknowledged write lost or doubled, no event lost for the other
//! replica, no write failing while Redis is down (the rate beside the rate
//! with it up is printed, not asserted: windows are counted in writes, and
//! a busy machine moves a rate, never a failure),
//! requests failing fast while the database is down, and service resuming
//! by itself.
//!
//! A test binary of its own, so that no other test shares the machine with
//! its throughput windows.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[allow(dead_code)]
#[path = "api/services.rs"]
mod services;
#[allow(dead_code)]
#[path = "api/ws_client.rs"]
mod ws_client;

use helpers::{first_code, TestApp};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{json, Value};
use services::{wait_until, OwnPostgres, OwnRedis};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ws_client::{Got, Ws};

const ADJUST: &str = "mutation($a: UUID!, $i: BalanceAdjustmentInput!) { adjustBalance(assetId: $a, input: $i) { balance { available } } }";
const READ: &str = "{ accounts(first: 5) { totalCount nodes { name assets { balance { available } } } } }";
const ANA: &str = r#"{ accountByExternalId(externalId: "acc-ana-main") { id assets { id balance { available } } } }"#;
const WRITERS: usize = 4;
const READERS: usize = 2;
/// Writes in each measured window (Redis up, Redis down).
const WINDOW_WRITES: u64 = 400;

/// One request as a client saw it.
#[derive(Clone, Copy, Debug)]
struct Sample {
    write: bool,
    started: Instant,
    ended: Instant,
    ok: bool,
}

#[derive(Default)]
struct Log {
    samples: Mutex<Vec<Sample>>,
    /// Writes acknowledged (each once, after however many retries).
    acknowledged: AtomicU64,
}

impl Log {
    fn push(&self, s: Sample) {
        if let Ok(mut v) = self.samples.lock() {
            v.push(s);
        }
    }

    fn all(&self) -> Vec<Sample> {
        self.samples.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Acknowledged writes per second between `from` and `to`.
    fn write_rate(&self, from: Instant, to: Instant) -> f64 {
        let n = self.all().iter().filter(|s| s.write && s.ok && s.ended >= from && s.ended < to).count();
        n as f64 / (to - from).as_secs_f64()
    }
}

async fn call(http: &reqwest::Client, app: &TestApp, query: &str, variables: Value) -> Result<Value, String> {
    let resp = http
        .post(format!("{}/graphql", app.base))
        .header("x-api-key", &app.key)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    match body.get("errors") {
        None => Ok(body),
        Some(_) => Err(first_code(&body)),
    }
}

/// A writer: adjustments of 0.01, each retried with its idempotency key
/// until acknowledged, as a careful client does.
async fn writer(app: Arc<TestApp>, asset: Value, n: usize, log: Arc<Log>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default();
    let mut i = 0;
    while !stop.load(Ordering::SeqCst) {
        let vars = json!({"a": asset, "i": {"idempotencyKey": format!("drill-{n}-{i}"), "available": "0.01"}});
        loop {
            let started = Instant::now();
            let result = call(&http, &app, ADJUST, vars.clone()).await;
            log.push(Sample { write: true, started, ended: Instant::now(), ok: result.is_ok() });
            if result.is_ok() {
                log.acknowledged.fetch_add(1, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        i += 1;
    }
}

async fn reader(app: Arc<TestApp>, log: Arc<Log>, stop: Arc<AtomicBool>) {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap_or_default();
    while !stop.load(Ordering::SeqCst) {
        let started = Instant::now();
        let ok = call(&http, &app, READ, json!({})).await.is_ok();
        log.push(Sample { write: false, started, ended: Instant::now(), ok });
        if !ok {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn ready(app: &TestApp) -> (u16, Duration) {
    let started = Instant::now();
    let status = match app.http.get(format!("{}/readyz", app.base)).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    (status, started.elapsed())
}

fn cents(v: &Value) -> i64 {
    let text = v["balance"]["available"].as_str().unwrap_or("0");
    let (whole, frac) = text.split_once('.').unwrap_or((text, "0"));
    let frac: String = format!("{frac:0<2}").chars().take(2).collect();
    whole.parse::<i64>().unwrap_or(0) * 100 + frac.parse::<i64>().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_drill() {
    let Some(pg) = OwnPostgres::start().await else { return };
    let Some(mut redis) = OwnRedis::start().await else { return };
    let admin = Database::connect(pg.url()).await.unwrap();
    admin.execute_unprepared("CREATE DATABASE drill").await.unwrap();
    drop(admin);
    let url = format!("postgres://postgres@127.0.0.1:{}/drill", pg.port);
    let redis_url = redis.url();
    let flags = ["--redis-url", &redis_url, "--redis-prefix", "drill:"];
    let one = Arc::new(TestApp::spawn_on(&url, &flags).await);
    let two = one.sibling(&flags).await;

    let ana = one.data(ANA, json!({})).await["accountByExternalId"].clone();
    let asset = ana["assets"][0]["id"].clone();
    let start_cents = cents(&ana["assets"][0]);

    // The other replica's subscriber hears every write only through Redis.
    let heard = Arc::new(AtomicU64::new(0));
    let first_heard_after = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let mut ws = Ws::ready(&two.base, "graphql-transport-ws", &two.key).await;
    let q = "subscription($a: UUID) { balanceChanged(accountId: $a) { at } }";
    ws.subscribe("drill", q, json!({"a": ana["id"]})).await;
    let listener = {
        let (heard, times) = (heard.clone(), first_heard_after.clone());
        tokio::spawn(async move {
            loop {
                match ws.next(Duration::from_secs(600)).await {
                    Got::Json(v) if v["type"] == "next" && v["payload"].get("errors").is_some() => {
                        panic!("the subscriber lost events: {v}");
                    }
                    Got::Json(v) if v["type"] == "next" => {
                        heard.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut t) = times.lock() {
                            t.push(Instant::now());
                        }
                    }
                    Got::Json(v) if v["type"] == "ping" || v["type"] == "pong" => {}
                    other => panic!("the subscriber ended: {other:?}"),
                }
            }
        })
    };
    wait_until("the subscription to be live", Duration::from_secs(10), || async {
        two.metric("gateway_ws_operations").await == 1
    })
    .await;

    let log = Arc::new(Log::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for n in 0..WRITERS {
        load.push(tokio::spawn(writer(one.clone(), asset.clone(), n, log.clone(), stop.clone())));
    }
    for _ in 0..READERS {
        load.push(tokio::spawn(reader(one.clone(), log.clone(), stop.clone())));
    }

    // 1. Everything up (once the load runs), for a measured window.
    let acked = |n: u64| {
        let log = log.clone();
        move || {
            let log = log.clone();
            async move { log.acknowledged.load(Ordering::SeqCst) >= n }
        }
    };
    wait_until("the load to run", Duration::from_secs(30), acked(20)).await;
    let up_from = Instant::now();
    let so_far = log.acknowledged.load(Ordering::SeqCst);
    wait_until("writes to go on", Duration::from_secs(60), acked(so_far + WINDOW_WRITES)).await;
    let up_rate = log.write_rate(up_from, Instant::now());

    // 2. Redis killed: writes must not wait for it.
    let relay_errors = one.metric("gateway_events_relay_errors_total").await;
    redis.kill().await;
    wait_until("the relay to find Redis gone", Duration::from_secs(30), || async {
        one.metric("gateway_events_relay_errors_total").await > relay_errors
    })
    .await;
    // Counted in writes, not seconds: a machine busy with other work slows
    // both windows, and only a write that failed shows a dependence.
    let down_from = Instant::now();
    let so_far = log.acknowledged.load(Ordering::SeqCst);
    wait_until("writes to go on with Redis down", Duration::from_secs(60), acked(so_far + WINDOW_WRITES)).await;
    let down_to = Instant::now();
    let redis_down_rate = log.write_rate(down_from, down_to);
    let failed_redis_down =
        log.all().iter().filter(|s| s.write && !s.ok && s.started >= down_from && s.ended <= down_to).count();

    // 3. PostgreSQL crashes (Redis still down): everything needing it fails fast.
    let crashed_at = Instant::now();
    pg.crash().await;
    let crashed = Instant::now();
    let mut readyz = Vec::new();
    while crashed.elapsed() < Duration::from_secs(3) {
        readyz.push(ready(&one).await);
    }

    // 4. PostgreSQL back: service resumes by itself.
    pg.restart().await;
    let pg_back = Instant::now();
    wait_until("a write to succeed again", Duration::from_secs(30), || async {
        log.all().iter().any(|s| s.write && s.ok && s.started >= pg_back)
    })
    .await;
    let recovered = log.all().iter().filter(|s| s.write && s.ok && s.started >= pg_back).map(|s| s.ended).min();
    let time_to_recover = recovered.map_or(Duration::MAX, |t| t - pg_back);

    // 5. Redis back: the relay delivers what waited in the outbox.
    let events_before = heard.load(Ordering::SeqCst);
    redis.restart().await;
    let redis_back = Instant::now();
    wait_until("an event to reach the other replica", Duration::from_secs(30), || async {
        heard.load(Ordering::SeqCst) > events_before
    })
    .await;
    let publisher_back = first_heard_after
        .lock()
        .map(|t| t.iter().filter(|i| **i >= redis_back).min().map(|i| *i - redis_back))
        .ok()
        .flatten()
        .unwrap_or(Duration::MAX);
    let so_far = log.acknowledged.load(Ordering::SeqCst);
    wait_until("writes to go on with everything back", Duration::from_secs(30), acked(so_far + 20)).await;

    // Stop; every writer finishes its write in flight (retrying until acknowledged).
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let acknowledged = log.acknowledged.load(Ordering::SeqCst);
    let after = one.data(ANA, json!({})).await["accountByExternalId"]["assets"][0].clone();
    let applied = (cents(&after) - start_cents) as u64;
    let audit = one
        .data(
            r#"query($id: UUID!) { auditEvents(filter: {entityId: $id, action: "asset.balance_adjusted"}) { totalCount } }"#,
            json!({"id": asset}),
        )
        .await["auditEvents"]["totalCount"]
        .as_u64()
        .unwrap_or(0);
    let waited = Instant::now();
    while heard.load(Ordering::SeqCst) < applied && waited.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let relayed = one.metric("gateway_events_relayed_total").await;
    let received = two.metric("gateway_events_received_total").await;
    let outbox = one.db.query_one_raw(sea_orm::Statement::from_string(
        one.db.get_database_backend(),
        "SELECT count(*) AS n FROM event_outbox WHERE relayed_ms IS NULL",
    ));
    let outbox = outbox.await.ok().flatten().and_then(|r| r.try_get::<i64>("", "n").ok()).unwrap_or(-1);
    println!("  appended to Redis by one {relayed} (re-sends after the restart included), delivered by two {received}, waiting in the outbox {outbox}");
    listener.abort();

    let samples = log.all();
    let during_outage: Vec<&Sample> =
        samples.iter().filter(|s| s.started >= crashed && s.ended <= pg_back && !s.ok).collect();
    let time_to_fail = during_outage.iter().map(|s| s.ended - s.started).max().unwrap_or_default();
    let readyz_503 = readyz.iter().filter(|(status, _)| *status == 503).count();
    let readyz_slowest = readyz.iter().map(|(_, d)| *d).max().unwrap_or_default();
    let hung = samples.iter().filter(|s| s.started >= crashed && s.ended - s.started > Duration::from_secs(5)).count();
    let ratio = redis_down_rate / up_rate;
    let lost = acknowledged.saturating_sub(applied);
    let doubled = applied.saturating_sub(acknowledged);
    println!("fault drill (2 replicas, {WRITERS} writers, {READERS} readers)");
    println!("  writes/s, everything up:           {up_rate:.1}");
    println!("  writes/s, Redis down:              {redis_down_rate:.1}  ({:.0}% of up)", ratio * 100.0);
    println!("  writes failed while Redis was down: {failed_redis_down}");
    println!("  PostgreSQL crash (pg_ctl -m immediate) took {:?}", crashed - crashed_at);
    println!("  slowest failure while PG was down: {time_to_fail:?} over {} failed requests", during_outage.len());
    println!(
        "  /readyz while PG was down:         {readyz_503}/{} answered 503, slowest {readyz_slowest:?}",
        readyz.len()
    );
    println!("  requests that hung (> 5 s):        {hung}");
    println!("  first write acknowledged after PG came back: {time_to_recover:?}");
    println!("  first relayed event after Redis came back:   {publisher_back:?}");
    println!(
        "  writes acknowledged {acknowledged}, applied {applied}, audited {audit}: lost {lost}, doubled {doubled}"
    );
    println!("  events heard by the other replica: {}", heard.load(Ordering::SeqCst));

    assert_eq!((lost, doubled), (0, 0), "every acknowledged write applied exactly once");
    assert_eq!(audit, applied, "one audit entry per applied write");
    assert_eq!(heard.load(Ordering::SeqCst), applied, "the other replica heard every write once");
    assert_eq!(outbox, 0, "nothing left behind in the outbox");
    assert_eq!(failed_redis_down, 0, "no write failed while Redis was down");
    assert!(!during_outage.is_empty() && readyz_503 == readyz.len(), "the outage was seen");
    assert!(time_to_fail < Duration::from_millis(2500), "failing took {time_to_fail:?}");
    assert!(readyz_slowest < Duration::from_millis(2500), "/readyz took {readyz_slowest:?}");
    assert_eq!(hung, 0);
    assert!(time_to_recover < Duration::from_secs(5), "recovery took {time_to_recover:?}");
    assert!(publisher_back < Duration::from_secs(3), "the publisher took {publisher_back:?}");
}
