//! Load generator for BENCHMARKS.md. Run against a release server:
//!
//! ```sh
//! cargo run --release --example bench -- page --url http://127.0.0.1:8080 --key agk_... --concurrency 8
//! cargo run --release --example bench -- subscribers --url ... --key ... --count 10000 --server-pid PID
//! cargo run --release --example bench -- money --key ... --kind random --concurrency 8
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Mode,
    /// Gateway base URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// API key.
    #[arg(long, global = true, default_value = "")]
    key: String,
}

#[derive(Subcommand)]
enum Mode {
    /// Pages of accounts with owner, assets with wallets, cards, sub-accounts.
    Page {
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        #[arg(long, default_value_t = 50)]
        first: usize,
        /// Also value every account in USD.
        #[arg(long)]
        balance: bool,
    },
    /// Many idle subscribers, then status changes fanned out to all: in
    /// `rounds` (one account, each change awaited by every subscriber), or
    /// at `rate` changes a second for `seconds`, spread over `accounts`
    /// (subscribers split evenly among them).
    Subscribers {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// The server's pid, to read its memory.
        #[arg(long)]
        server_pid: Option<u32>,
        /// Accounts the subscribers are spread over.
        #[arg(long, default_value_t = 1)]
        accounts: usize,
        /// Status changes a second (0: the `rounds` mode).
        #[arg(long, default_value_t = 0)]
        rate: u64,
        /// How long the `rate` mode changes statuses.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Money movement on the demo organization's USD assets: transfers of
    /// 0.01 between random pairs, or every one from one asset to the
    /// OMNIBUS account (one hot pair), or adjustBalance on random assets.
    Money {
        #[arg(long, value_enum, default_value_t = MoneyKind::Random)]
        kind: MoneyKind,
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Accounts made for the run (each with an active USD asset).
        #[arg(long, default_value_t = 200)]
        accounts: usize,
    },
}

/// What `money` sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum MoneyKind {
    /// `transfer` between 1,000 random pairs of assets.
    Random,
    /// `transfer` from one asset to the OMNIBUS USD account, every time.
    Hot,
    /// `adjustBalance` of +0.01 on random assets.
    Adjust,
}

const PAGE: &str = "query($n: Int!) { accounts(first: $n) { nodes { id name status owner { name email } type { code }
  assets { currency { code } balance { total available onHold } wallets { address network { code } } }
  smartCards { last4 expirationStatus } subAccounts(first: 5) { nodes { id name } } } } }";
const PAGE_WITH_BALANCE: &str =
    "query($n: Int!) { accounts(first: $n) { nodes { id name status owner { name email } type { code }
  assets { currency { code } balance { total available onHold } wallets { address network { code } } }
  smartCards { last4 expirationStatus } subAccounts(first: 5) { nodes { id name } } balance { total complete } } } }";

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `concurrency` clients for `seconds`, each sending the body
/// `body(client, n)` makes for its n-th request; the latencies in ms, and
/// the count of answers with errors.
async fn drive<F>(args: &Args, concurrency: usize, seconds: u64, body: F) -> (Vec<f64>, usize)
where
    F: Fn(usize, usize) -> Value + Send + Sync + 'static,
{
    let client = reqwest::Client::new();
    let body = std::sync::Arc::new(body);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let (client, body, url, key) =
            (client.clone(), body.clone(), format!("{}/graphql", args.url), args.key.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0);
            while Instant::now() < deadline {
                let t = Instant::now();
                let request = client.post(&url).header("x-api-key", &key).json(&body(task, lat.len()));
                let resp: Value = request.send().await.unwrap().json().await.unwrap();
                errors += usize::from(resp.get("errors").is_some());
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (lat, e) = t.await.unwrap();
        all.extend(lat);
        errors += e;
    }
    all.sort_by(|a, b| a.total_cmp(b));
    (all, errors)
}

async fn page(args: &Args, concurrency: usize, seconds: u64, first: usize, balance: bool) {
    let query = if balance { PAGE_WITH_BALANCE } else { PAGE };
    let body = json!({"query": query, "variables": {"n": first}});
    let (all, errors) = drive(args, concurrency, seconds, move |_, _| body.clone()).await;
    assert_eq!(errors, 0, "pages answered with errors");
    println!(
        "page of {first}{}: concurrency {concurrency}: {:.0} pages/s, p50 {:.2} ms, p99 {:.2} ms ({} pages)",
        if balance { " with USD balance" } else { "" },
        all.len() as f64 / seconds as f64,
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.len()
    );
}

/// The `data` of a request that must succeed.
async fn data(args: &Args, query: &str, variables: Value) -> Value {
    let request = reqwest::Client::new().post(format!("{}/graphql", args.url)).header("x-api-key", &args.key);
    let r: Value =
        request.json(&json!({"query": query, "variables": variables})).send().await.unwrap().json().await.unwrap();
    assert!(r.get("errors").is_none(), "{r}");
    r["data"].clone()
}

/// `accounts` new ACTIVE accounts of the demo client `cli-ana`, each with
/// an active USD asset of 1,000,000.00; their asset ids.
async fn funded_assets(args: &Args, accounts: usize) -> Vec<String> {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let rows: Vec<Value> = (0..accounts)
        .map(|i| {
            json!({"name": format!("bench {run} {i}"), "type": "PERSONAL", "ownerExternalId": "cli-ana",
            "status": "ACTIVE", "assets": [{"currency": "USD", "initialBalance": "1000000.00"}]})
        })
        .collect();
    let import = "mutation($r: [CreateAccountInput!]!) { importAccounts(rows: $r, atomic: true) { accounts { assets { id } } } }";
    let made = data(args, import, json!({"r": rows})).await;
    let ids: Vec<String> = made["importAccounts"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["assets"][0]["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &ids {
        data(args, "mutation($id: UUID!) { setAssetStatus(id: $id, status: ACTIVE) { status } }", json!({"id": id}))
            .await;
    }
    ids
}

const TRANSFER: &str = "mutation($i: TransferInput!) { transfer(input: $i) { id } }";
const ADJUST: &str =
    "mutation($a: UUID!, $i: BalanceAdjustmentInput!) { adjustBalance(assetId: $a, input: $i) { id } }";

async fn money(args: &Args, kind: MoneyKind, concurrency: usize, seconds: u64, accounts: usize) {
    use rand::Rng;
    let assets = funded_assets(args, accounts).await;
    let omnibus =
        data(args, "mutation { systemAccount(role: OMNIBUS, currency: \"USD\") { assets { id } } }", json!({})).await;
    let omnibus = omnibus["systemAccount"]["assets"][0]["id"].as_str().unwrap().to_owned();
    let mut rng = rand::thread_rng();
    let pairs: Vec<(String, String)> = (0..1000)
        .map(|_| {
            let a = rng.gen_range(0..assets.len());
            let b = (a + rng.gen_range(1..assets.len())) % assets.len();
            (assets[a].clone(), assets[b].clone())
        })
        .collect();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let body = move |task: usize, n: usize| {
        let key = format!("{run}-{task}-{n}");
        let pick = (task * 7919 + n * 104_729) % pairs.len();
        match kind {
            MoneyKind::Random => {
                let (from, to) = &pairs[pick];
                json!({"query": TRANSFER, "variables": {"i": {"idempotencyKey": key, "fromAssetId": from, "toAssetId": to, "amount": "0.01"}}})
            }
            MoneyKind::Hot => {
                json!({"query": TRANSFER, "variables": {"i": {"idempotencyKey": key, "fromAssetId": pairs[0].0, "toAssetId": omnibus, "amount": "0.01"}}})
            }
            MoneyKind::Adjust => {
                json!({"query": ADJUST, "variables": {"a": pairs[pick].0, "i": {"idempotencyKey": key, "available": "0.01"}}})
            }
        }
    };
    let (all, errors) = drive(args, concurrency, seconds, body).await;
    assert_eq!(errors, 0, "every operation must succeed");
    println!(
        "money {kind:?}: concurrency {concurrency}: {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms ({} ops, {errors} errors)",
        all.len() as f64 / seconds as f64,
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.len()
    );
}

/// The `subscribers` mode's load.
struct Load {
    count: usize,
    rounds: usize,
    accounts: usize,
    rate: u64,
    seconds: u64,
}

const SET_STATUS: &str =
    "mutation($id: UUID!, $s: AccountStatus!) { setAccountStatus(id: $id, status: $s) { status } }";

/// A delivery: when it arrived, and the commit time the event carries.
type Delivery = (Instant, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>);

async fn subscribers(args: &Args, load: Load, pid: Option<u32>) {
    let Load { count, accounts, .. } = load;
    let http = reqwest::Client::new();
    let gql = |q: &str, v: Value| {
        let req = http
            .post(format!("{}/graphql", args.url))
            .header("x-api-key", &args.key)
            .json(&json!({"query": q, "variables": v}));
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let q =
        "query($n: Int, $after: String) { accounts(first: $n, after: $after, filter: {status: [ACTIVE, INACTIVE]}) {
        nodes { id status } pageInfo { endCursor hasNextPage } } }";
    let mut nodes = Vec::new();
    let mut after = Value::Null;
    while nodes.len() < accounts {
        let page = gql(q, json!({"n": (accounts - nodes.len()).min(500), "after": after})).await;
        let page = &page["data"]["accounts"];
        nodes.extend(page["nodes"].as_array().unwrap().iter().cloned());
        after = page["pageInfo"]["endCursor"].clone();
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
    }
    assert_eq!(nodes.len(), accounts, "the database has {} accounts to change, not {accounts}", nodes.len());
    let ids: Vec<String> = nodes.iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect();
    let before = pid.map(rss_kib).unwrap_or(0);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Delivery>();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let ws_url = args.url.replacen("http://", "ws://", 1) + "/graphql";
    let opened = Instant::now();
    // Only the rate mode reads the commit time out of each delivery: the
    // client shares the server's two cores, and parsing 10,000 answers per
    // change would be its own latency.
    let timed = load.rate > 0;
    for i in 0..count {
        let (tx, ready_tx, ws_url, key, id) =
            (tx.clone(), ready_tx.clone(), ws_url.clone(), args.key.clone(), ids[i % accounts].clone());
        tokio::spawn(async move {
            let mut req = ws_url.into_client_request().unwrap();
            req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
            let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
            ws.send(Message::Text(
                json!({"type": "connection_init", "payload": {"x-api-key": key}}).to_string().into(),
            ))
            .await
            .unwrap();
            let _ack = ws.next().await;
            let sub = json!({"type": "subscribe", "id": format!("s{i}"), "payload": {"query": "subscription($a: UUID) { accountStatusChanged(accountId: $a) { status at } }", "variables": {"a": id}}});
            ws.send(Message::Text(sub.to_string().into())).await.unwrap();
            ready_tx.send(()).unwrap();
            while let Some(Ok(msg)) = ws.next().await {
                if let Message::Text(t) = msg {
                    if t.contains("\"next\"") {
                        let received = (Instant::now(), chrono::Utc::now());
                        let at = match timed {
                            true => {
                                let v: Value = serde_json::from_str(&t).unwrap();
                                let at =
                                    v["payload"]["data"]["accountStatusChanged"]["at"].as_str().unwrap_or_default();
                                chrono::DateTime::parse_from_rfc3339(at).map(|t| t.to_utc()).unwrap_or_default()
                            }
                            false => received.1,
                        };
                        tx.send((received.0, received.1, at)).unwrap();
                    } else if t.contains("\"ping\"") {
                        let _ = ws.send(Message::Text(json!({"type": "pong"}).to_string().into())).await;
                    }
                }
            }
        });
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    for _ in 0..count {
        ready_rx.recv().await.unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = pid.map(rss_kib).unwrap_or(0);
    println!("{count} subscribers connected and subscribed in {:.1} s", opened.elapsed().as_secs_f64());
    if pid.is_some() {
        println!(
            "server RSS {:.1} MiB -> {:.1} MiB: {:.1} KiB per idle subscriber",
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            (after.saturating_sub(before)) as f64 / count as f64
        );
    }
    let mut lat = if load.rate == 0 {
        rounds(&gql, &nodes[0], count, load.rounds, &mut rx).await
    } else {
        at_rate(&gql, &ids, count, &load, &mut rx).await
    };
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "latency over {} deliveries: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    );
}

/// One account's status changed `rounds` times, each awaited by every
/// subscriber: latency from the mutation sent to each delivery.
async fn rounds<F, Fut>(
    gql: &F,
    account: &Value,
    count: usize,
    rounds: usize,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Delivery>,
) -> Vec<f64>
where
    F: Fn(&str, Value) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let mut lat = Vec::new();
    let id = account["id"].as_str().unwrap();
    let mut status = account["status"].as_str().unwrap().to_owned();
    for round in 0..rounds {
        status = if status == "ACTIVE" { "INACTIVE".into() } else { "ACTIVE".into() };
        let sent = Instant::now();
        let r = gql(SET_STATUS, json!({"id": id, "s": status})).await;
        assert!(r.get("errors").is_none(), "{r}");
        let committed = Instant::now();
        let mut got = 0;
        while got < count {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some((at, _, _))) => {
                    lat.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
                    got += 1;
                }
                _ => break,
            }
        }
        println!(
            "round {round}: {got}/{count} delivered; mutation round trip {:.1} ms",
            (committed - sent).as_secs_f64() * 1000.0
        );
    }
    println!("(latency: mutation sent -> delivered)");
    lat
}

/// Status changes at `load.rate` a second for `load.seconds`, each account
/// in turn (every account starts ACTIVE): latency from each event's commit
/// time to its delivery, and every delivery counted.
async fn at_rate<F, Fut>(
    gql: &F,
    ids: &[String],
    count: usize,
    load: &Load,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Delivery>,
) -> Vec<f64>
where
    F: Fn(&str, Value) -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    for id in ids {
        let r = gql(SET_STATUS, json!({"id": id, "s": "ACTIVE"})).await;
        assert!(r.get("errors").is_none() || r.to_string().contains("NOT_ALLOWED"), "{r}");
    }
    while tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.is_ok_and(|d| d.is_some()) {}
    let changes = (load.rate * load.seconds) as usize;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / load.rate as f64));
    let started = Instant::now();
    let mut sent = futures_util::stream::FuturesUnordered::new();
    for j in 0..changes {
        tick.tick().await;
        let status = if (j / ids.len()).is_multiple_of(2) { "INACTIVE" } else { "ACTIVE" };
        sent.push(gql(SET_STATUS, json!({"id": ids[j % ids.len()], "s": status})));
        while let Some(r) = futures_util::FutureExt::now_or_never(sent.next()).flatten() {
            assert!(r.get("errors").is_none(), "{r}");
        }
    }
    while let Some(r) = sent.next().await {
        assert!(r.get("errors").is_none(), "{r}");
    }
    let took = started.elapsed().as_secs_f64();
    println!("{changes} changes sent in {took:.1} s ({:.0}/s)", changes as f64 / took);
    let expected = changes * (count / ids.len());
    let mut lat = Vec::with_capacity(expected);
    while lat.len() < expected {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some((_, received, at))) => lat.push((received - at).num_microseconds().unwrap_or(0) as f64 / 1000.0),
            _ => break,
        }
    }
    println!("{} of {expected} deliveries (latency: event committed -> delivered)", lat.len());
    lat
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match &args.mode {
        Mode::Page { concurrency, seconds, first, balance } => {
            page(&args, *concurrency, *seconds, *first, *balance).await
        }
        Mode::Subscribers { count, rounds, server_pid, accounts, rate, seconds } => {
            let load = Load { count: *count, rounds: *rounds, accounts: *accounts, rate: *rate, seconds: *seconds };
            subscribers(&args, load, *server_pid).await
        }
        Mode::Money { kind, concurrency, seconds, accounts } => {
            money(&args, *kind, *concurrency, *seconds, *accounts).await
        }
    }
}
