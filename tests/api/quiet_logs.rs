//! A successful request logs no ERROR: the real binary, its log read back
//! after a tour of reads and writes that all succeed.

use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Gateway {
    child: Child,
    log: std::path::PathBuf,
    base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

async fn start() -> Gateway {
    let dir = std::env::temp_dir();
    let id = uuid::Uuid::new_v4().simple();
    let db = format!("sqlite://{}/ag-quiet-{id}.db?mode=rwc", dir.display());
    let log = dir.join(format!("ag-quiet-{id}.log"));
    let port = crate::services::free_port();
    let file = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_accounts-gateway"))
        .args(["--database-url", &db, "--bind", &format!("127.0.0.1:{port}"), "--log-format", "json"])
        .stdout(Stdio::from(file.try_clone().expect("log file")))
        .stderr(file)
        .spawn()
        .expect("the gateway starts");
    let gw = Gateway { child, log, base: format!("http://127.0.0.1:{port}") };
    let ready = format!("{}/readyz", gw.base);
    crate::services::wait_until("the gateway to be ready", Duration::from_secs(30), || {
        let ready = ready.clone();
        async move { reqwest::get(&ready).await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    gw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn successful_requests_log_no_error() {
    let gw = start().await;
    let key = {
        let log = gw.log();
        let at = log.find("agk_").expect("the first start prints an admin key");
        log[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>()
    };
    let http = reqwest::Client::new();
    let call = |query: &str, variables: Value| {
        let req = http
            .post(format!("{}/graphql", gw.base))
            .header("x-api-key", &key)
            .json(&json!({"query": query, "variables": variables}));
        async move { req.send().await.expect("answered").json::<Value>().await.expect("json") }
    };
    let tour = [
        (r#"mutation { createAccountType(input: {code: "loans", name: "Loans"}) { code } }"#, json!({})),
        (r#"mutation { createNetwork(input: {code: "solana", name: "Solana"}) { code currencies { code } } }"#, json!({})),
        (r#"mutation { createCurrency(input: {code: "SOL", name: "Solana", symbol: "S", type: CRYPTO, decimals: 9, networks: ["solana"]}) { code networks { code currencies { code } } } }"#, json!({})),
        (r#"mutation { createCurrency(input: {code: "ZAR", name: "Rand", symbol: "R", type: FIAT, decimals: 2}) { code networks { code } } }"#, json!({})),
        (r#"mutation { createProject(name: "Quiet") { name } }"#, json!({})),
        ("{ currencies { code networks { code currencies { code } } } networks { code currencies { code } } accountTypes { code } projects { name } }", json!({})),
        (crate::accounts_nested::ACCOUNT, json!({"e": "acc-ana-main"})),
        (crate::accounts_nested::ACCOUNT, json!({"e": "acc-john-crypto"})),
        ("{ accounts(first: 50) { totalCount nodes { name balance { total complete } subAccountsBalance { usdTotal } } } }", json!({})),
        (r#"{ quotes(currencies: ["BTC", "EUR", "SOL"]) { currency usdRate } auditEvents(first: 20) { nodes { action } } }"#, json!({})),
    ];
    for (query, variables) in tour {
        let answer = call(query, variables).await;
        assert!(answer.get("errors").is_none(), "{query}: {answer}");
    }
    let errors: Vec<String> =
        gw.log().lines().filter(|l| l.contains(r#""level":"ERROR""#)).map(str::to_owned).collect();
    assert!(errors.is_empty(), "ERROR logged on success: {errors:#?}");
}
