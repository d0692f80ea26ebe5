//! Noisy neighbours (BENCHMARKS.md, "Isolation: noisy neighbours"):
//! organization A reads pages at `--concurrency` clients while
//! organization B makes one kind of noise, then all of them at once, each
//! phase beside a quiet one in the same run:
//!
//! - `heavy`: B's clients send the heaviest document the limits accept,
//!   as fast as B's rate limit lets them (honouring `Retry-After`);
//! - `import`: B runs atomic 10,000-row imports back to back;
//! - `stuck`: B holds sockets subscribed to its balance changes that never
//!   read, while it changes that balance;
//! - `flood`: 1 MB bodies without a credential over 16 connections.
//!
//! Exits non-zero when any of A's requests fails (a non-200 answer or one
//! with errors): the part CI runs (`bench/neighbours.sh`, a few seconds a
//! phase), where speed is never judged.
//!
//! ```sh
//! bench/neighbours.sh target/release/accounts-gateway target/release/examples/neighbours 10
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use futures_util::SinkExt;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
struct Args {
    /// Gateway base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Organization A's key (it reads pages).
    #[arg(long)]
    key_a: String,
    /// Organization B's key (ADMIN: it makes the noise).
    #[arg(long)]
    key_b: String,
    /// A's clients.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds per phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Accounts per page A reads.
    #[arg(long, default_value_t = 20)]
    first: usize,
    /// The phases, in order: a kind of noise, kinds joined by `+`, `all`,
    /// or `quiet` (the first phase is what the others are compared with).
    #[arg(long, value_delimiter = ',', default_value = "quiet,heavy,import,stuck,flood,all,quiet")]
    phases: Vec<String>,
}

const PAGE: &str = "query($n: Int!) { accounts(first: $n) { nodes { id name status owner { name email } type { code }
  assets { currency { code } balance { total available onHold } wallets { address network { code } } }
  smartCards { last4 expirationStatus } subAccounts(first: 5) { nodes { id name } } } } }";

/// Nine aliases of 500 accounts with owners and asset balances: about
/// 95,000 of the 100,000 the default complexity limit accepts.
fn heavy_document() -> String {
    let one = "accounts(first: 500) { nodes { id name status owner { name } assets { balance { total available } } } }";
    let aliases: Vec<String> = (0..9).map(|i| format!("a{i}: {one}")).collect();
    format!("{{ {} }}", aliases.join(" "))
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One POST with `key`: status, `Retry-After`, body.
async fn post(http: &reqwest::Client, url: &str, key: &str, body: &Value) -> (u16, Option<u64>, Value) {
    let resp = http.post(format!("{url}/graphql")).header("x-api-key", key).json(body).send().await.unwrap();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    (resp.status().as_u16(), retry, resp.json().await.unwrap_or(Value::Null))
}

/// The data of a setup request that must succeed.
async fn data(args: &Args, key: &str, query: &str, variables: Value) -> Value {
    let (status, _, r) =
        post(&reqwest::Client::new(), &args.url, key, &json!({"query": query, "variables": variables})).await;
    assert!(status == 200 && r.get("errors").is_none(), "{status} {r}");
    r["data"].clone()
}

/// What A saw in one phase.
struct Seen {
    latencies: Vec<f64>,
    failed: usize,
    first_failure: Option<String>,
}

/// A reads pages for `seconds` at `concurrency` clients.
async fn read_pages(args: &Args) -> Seen {
    let http = reqwest::Client::new();
    let body = json!({"query": PAGE, "variables": {"n": args.first}});
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (http, body, url, key) = (http.clone(), body.clone(), args.url.clone(), args.key_a.clone());
        tasks.push(tokio::spawn(async move {
            let mut seen = Seen { latencies: Vec::new(), failed: 0, first_failure: None };
            while Instant::now() < deadline {
                let t = Instant::now();
                let (status, _, r) = post(&http, &url, &key, &body).await;
                seen.latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if status != 200 || r.get("errors").is_some() {
                    seen.failed += 1;
                    seen.first_failure.get_or_insert_with(|| format!("{status} {r}"));
                }
            }
            seen
        }));
    }
    let mut all = Seen { latencies: Vec::new(), failed: 0, first_failure: None };
    for t in tasks {
        let seen = t.await.unwrap();
        all.latencies.extend(seen.latencies);
        all.failed += seen.failed;
        all.first_failure = all.first_failure.or(seen.first_failure);
    }
    all.latencies.sort_by(|a, b| a.total_cmp(b));
    all
}

/// B's side of a phase: counters its noise makers add to, and the flag
/// that stops them.
#[derive(Clone, Default)]
struct Noise {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    refused: Arc<AtomicUsize>,
}

impl Noise {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }
}

/// B's clients send the heaviest accepted document, within B's rate limit.
fn heavy(args: &Args, noise: &Noise) {
    let body = json!({"query": heavy_document()});
    for _ in 0..8 {
        let (noise, body, url, key) = (noise.clone(), body.clone(), args.url.clone(), args.key_b.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while noise.running() {
                match post(&http, &url, &key, &body).await {
                    (429, retry, _) => {
                        noise.refused.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_secs(retry.unwrap_or(1))).await;
                    }
                    _ => _ = noise.done.fetch_add(1, Ordering::Relaxed),
                }
            }
        });
    }
}

/// B imports 10,000 accounts at a time, atomically, back to back.
fn import(args: &Args, noise: &Noise) {
    let (noise, url, key) = (noise.clone(), args.url.clone(), args.key_b.clone());
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let q = "mutation($r: [CreateAccountInput!]!) { importAccounts(rows: $r, atomic: true) { created } }";
        while noise.running() {
            let run = uuid::Uuid::new_v4().simple().to_string();
            let rows: Vec<Value> = (0..10_000)
                .map(|i| json!({"name": format!("noise {run} {i}"), "type": "PERSONAL", "ownerExternalId": "noisy"}))
                .collect();
            let (status, _, r) = post(&http, &url, &key, &json!({"query": q, "variables": {"r": rows}})).await;
            let counter = if status == 200 && r.get("errors").is_none() { &noise.done } else { &noise.refused };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
}

/// B holds 20 sockets subscribed to its balance that never read, and
/// changes that balance as fast as its rate limit allows.
async fn stuck(args: &Args, noise: &Noise, account: &str, asset: &str) {
    let ws_url = args.url.replacen("http://", "ws://", 1) + "/graphql";
    for i in 0..20 {
        let mut req = ws_url.clone().into_client_request().unwrap();
        req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        let init = json!({"type": "connection_init", "payload": {"x-api-key": args.key_b}});
        ws.send(Message::Text(init.to_string().into())).await.unwrap();
        let query = "subscription($a: UUID) { balanceChanged(accountId: $a) { balance { available } } }";
        let sub = json!({"type": "subscribe", "id": format!("s{i}"), "payload": {"query": query, "variables": {"a": account}}});
        ws.send(Message::Text(sub.to_string().into())).await.unwrap();
        // Never read: held until the phase ends (or the server lets go).
        let noise = noise.clone();
        tokio::spawn(async move {
            while noise.running() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            drop(ws);
        });
    }
    let (noise, url, key, asset) = (noise.clone(), args.url.clone(), args.key_b.clone(), asset.to_owned());
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let q = "mutation($a: UUID!, $i: BalanceAdjustmentInput!) { adjustBalance(assetId: $a, input: $i) { id } }";
        while noise.running() {
            let key_ = uuid::Uuid::new_v4().to_string();
            let body =
                json!({"query": q, "variables": {"a": asset, "i": {"idempotencyKey": key_, "available": "0.01"}}});
            match post(&http, &url, &key, &body).await {
                (429, retry, _) => tokio::time::sleep(Duration::from_secs(retry.unwrap_or(1))).await,
                _ => _ = noise.done.fetch_add(1, Ordering::Relaxed),
            }
        }
    });
}

/// 16 connections sending 1 MB bodies without a credential.
fn flood(args: &Args, noise: &Noise) {
    let addr = args.url.trim_start_matches("http://").to_owned();
    let body = Arc::new(vec![b'0'; 1 << 20]);
    for _ in 0..16 {
        let (noise, addr, body) = (noise.clone(), addr.clone(), body.clone());
        tokio::spawn(async move {
            while noise.running() {
                let Ok(mut s) = tokio::net::TcpStream::connect(&addr).await else { continue };
                let head = format!(
                    "POST /graphql HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&body).await;
                let mut answer = Vec::new();
                let _ = s.read_to_end(&mut answer).await;
                noise.done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
}

/// B's organization: a client, an account type, USD, one active account
/// with an active USD asset (its account and asset ids), and 5,000 more
/// accounts with a USD asset each.
async fn set_up_b(args: &Args) -> (String, String) {
    let key = &args.key_b;
    data(
        args,
        key,
        r#"mutation { createAccountType(input: {code: "PERSONAL", name: "Personal"}) { code } }"#,
        json!({}),
    )
    .await;
    let usd = r#"mutation { createCurrency(input: {code: "USD", name: "Dollar", symbol: "$", type: FIAT, decimals: 2}) { code } }"#;
    data(args, key, usd, json!({})).await;
    data(args, key, r#"mutation { createClient(input: {name: "Noisy", externalId: "noisy"}) { id } }"#, json!({}))
        .await;
    let create = r#"mutation { createAccount(input: {name: "noisy", type: "PERSONAL", ownerExternalId: "noisy", status: ACTIVE,
        assets: [{currency: "USD", initialBalance: "100"}]}) { id assets { id } } }"#;
    let made = data(args, key, create, json!({})).await;
    let account = made["createAccount"]["id"].as_str().unwrap().to_owned();
    let asset = made["createAccount"]["assets"][0]["id"].as_str().unwrap().to_owned();
    data(
        args,
        key,
        "mutation($id: UUID!) { setAssetStatus(id: $id, status: ACTIVE) { status } }",
        json!({"id": asset}),
    )
    .await;
    // As many accounts as A has, so that B's heavy documents read full pages.
    let rows: Vec<Value> = (0..5_000)
        .map(|i| json!({"name": format!("b {i}"), "type": "PERSONAL", "ownerExternalId": "noisy", "assets": [{"currency": "USD", "initialBalance": "1"}]}))
        .collect();
    let import = "mutation($r: [CreateAccountInput!]!) { importAccounts(rows: $r, atomic: true) { created } }";
    data(args, key, import, json!({"r": rows})).await;
    (account, asset)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let (account, asset) = set_up_b(&args).await;
    let mut quiet: Option<(f64, f64)> = None;
    let mut failed = 0;
    println!(
        "| phase | A pages/s | A p50 ms | A p99 ms | A vs quiet (throughput, p99) | A failed | B done / refused |"
    );
    println!("|---|---|---|---|---|---|---|");
    for phase in &args.phases {
        let noise = Noise::default();
        let has = |kind: &str| phase == "all" || phase.split('+').any(|k| k == kind);
        if has("heavy") {
            heavy(&args, &noise);
        }
        if has("import") {
            import(&args, &noise);
        }
        if has("stuck") {
            stuck(&args, &noise, &account, &asset).await;
        }
        if has("flood") {
            flood(&args, &noise);
        }
        let seen = read_pages(&args).await;
        noise.stop.store(true, Ordering::Relaxed);
        let rate = seen.latencies.len() as f64 / args.seconds as f64;
        let p99 = pct(&seen.latencies, 0.99);
        let base = *quiet.get_or_insert((rate, p99));
        println!(
            "| {phase} | {rate:.0} | {:.1} | {p99:.1} | {:.2}x, {:.2}x | {} | {} / {} |",
            pct(&seen.latencies, 0.5),
            rate / base.0,
            p99 / base.1,
            seen.failed,
            noise.done.load(Ordering::Relaxed),
            noise.refused.load(Ordering::Relaxed)
        );
        if let Some(f) = &seen.first_failure {
            eprintln!("{phase}: A's first failure: {}", f.chars().take(400).collect::<String>());
        }
        failed += seen.failed;
        // Let the phase's noise drain before the next one.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert_eq!(failed, 0, "none of A's requests may fail");
}
