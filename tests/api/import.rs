//! Import: `export` then `import` into an empty organization gives back
//! every account, asset balance and wallet; a re-run skips what is there;
//! bad rows are reported by line and written nowhere.

use crate::helpers::{Backend, TestApp};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the gateway binary against the test server's database.
fn cli(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_accounts-gateway"))
        .args(args)
        .args(["--database-url", &app.db_url, "--log-format", "json"])
        .output()
        .expect("the binary runs")
}

fn temp_file(ext: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ag-import-{}.{ext}", uuid::Uuid::new_v4().simple()))
}

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// `import FILE --org ORG`: its summary line, rejected lines and status.
fn import(app: &TestApp, file: &Path, org: &str) -> (String, Vec<String>, Option<i32>) {
    let out = cli(app, &["import", &file.display().to_string(), "--org", org]);
    let (stdout, stderr) = text(&out);
    assert!(!stderr.contains("importing"), "no progress bar off a terminal: {stderr}");
    let rejected = stderr.lines().filter(|l| l.starts_with("line ")).map(str::to_owned).collect();
    (stdout.trim().to_owned(), rejected, out.status.code())
}

/// A gateway client acting for `org`, with a key the CLI makes.
fn client_for(app: &TestApp, org: &str) -> reqwest::Client {
    // A key's name names one key of its organization: a fresh one each time.
    let name = format!("import-check-{}", uuid::Uuid::new_v4().simple());
    let out = cli(app, &["api-key", "create", "--org", org, "--role", "VIEWER", "--name", &name]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let key = stdout.lines().last().expect("the key").trim().to_owned();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-api-key", key.parse().expect("header value"));
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}

const SNAPSHOT: &str = r#"{ accounts(first: 100) { totalCount nodes {
    externalId name alias kind systemRole status statusReason { code } main allowSending allowReceiving
    metadata createdAt type { code } owner { externalId name email kind } parent { name externalId }
    assets { status currency { code decimals type }
        balance { available onHold future creditLimit } wallets { address active network { code } } } } } }"#;

/// Every account of the caller's organization as comparable JSON: no ids,
/// uids or numbers (a new organization numbers its own), sorted.
async fn snapshot(base: &str, http: &reqwest::Client, core_only: bool) -> Vec<Value> {
    let body: Value = (http.post(format!("{base}/graphql")).json(&json!({"query": SNAPSHOT})).send().await)
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert!(body.get("errors").is_none(), "{body}");
    let mut accounts: Vec<Value> = body["data"]["accounts"]["nodes"].as_array().cloned().unwrap_or_default();
    for a in &mut accounts {
        if let Some(assets) = a["assets"].as_array_mut() {
            for asset in assets.iter_mut() {
                if let Some(w) = asset["wallets"].as_array_mut() {
                    w.sort_by_key(|w| w["address"].to_string());
                }
            }
            assets.sort_by_key(|s| s["currency"]["code"].to_string());
        }
        if core_only {
            // CSV carries the account's columns, not its flags and reasons.
            let m = a.as_object_mut().expect("an object");
            for key in ["allowSending", "allowReceiving", "main", "statusReason"] {
                m.remove(key);
            }
            for asset in m["assets"].as_array_mut().into_iter().flatten() {
                for w in asset["wallets"].as_array_mut().into_iter().flatten() {
                    w.as_object_mut().expect("an object").remove("active");
                }
            }
        }
    }
    accounts.sort_by_key(|a| format!("{}|{}|{}", a["name"], a["externalId"], a["owner"]["externalId"]));
    accounts
}

async fn round_trip(app: &TestApp, ext: &str) {
    let file = temp_file(ext);
    let out = cli(app, &["export", "--org", "demo", "--output", &file.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out).1);
    let original = snapshot(&app.base, &app.http, ext == "csv").await;
    assert!(original.iter().any(|a| !a["parent"].is_null() && a["externalId"].is_null()), "unnamed sub-accounts too");
    let org = format!("restored-{ext}");
    let (summary, rejected, status) = import(app, &file, &org);
    assert_eq!((rejected.as_slice(), status), (&[][..], Some(0)), "{summary}");
    assert_eq!(summary, format!("created {}, skipped 0 (already there), rejected 0", original.len()));
    let restored = snapshot(&app.base, &client_for(app, &org), ext == "csv").await;
    assert_eq!(restored.len(), original.len());
    for (a, b) in original.iter().zip(&restored) {
        assert_eq!(a, b, "every account, balance and wallet as it was");
    }
    // A second run finds everything there, sub-accounts without an
    // external id included, and writes nothing.
    let (again, rejected, status) = import(app, &file, &org);
    assert_eq!((rejected.as_slice(), status), (&[][..], Some(0)), "{again}");
    assert_eq!(again, format!("created 0, skipped {} (already there), rejected 0", original.len()));
    assert_eq!(snapshot(&app.base, &client_for(app, &org), ext == "csv").await.len(), original.len());
    let _ = std::fs::remove_file(&file);
}

async fn jsonl_round_trip_reproduces_the_organization(app: TestApp) {
    round_trip(&app, "jsonl").await;
}

async fn csv_round_trip_reproduces_balances_and_wallets(app: TestApp) {
    // Names a spreadsheet would run as formulas: neutralized in the file,
    // read back as written.
    for (name, ext) in [("=HYPERLINK(\"http://evil.example\",\"x\")", "f-1"), ("-2+3", "f-2"), ("@SUM(A1)", "f-3")] {
        let input = json!({"name": name, "type": "PERSONAL", "ownerExternalId": "cli-ana", "externalId": ext});
        app.data("mutation($i: CreateAccountInput!) { createAccount(input: $i) { id } }", json!({ "i": input })).await;
    }
    let file = temp_file("csv");
    let out = cli(&app, &["export", "--org", "demo", "--output", &file.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out).1);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("\"'=HYPERLINK(") && written.contains(",'-2+3,") && written.contains(",'@SUM(A1),"));
    assert!(!written.contains(",=HYPERLINK") && !written.contains(",-2+3,"), "no cell starts a formula");
    let _ = std::fs::remove_file(&file);
    round_trip(&app, "csv").await;
}

crate::backend_tests!(jsonl_round_trip_reproduces_the_organization, csv_round_trip_reproduces_balances_and_wallets);

#[tokio::test]
async fn bad_rows_are_reported_by_line_and_written_nowhere() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let owner = json!({"externalId": "cli-new", "name": "New Client", "email": "new@example.com", "kind": "PERSON"});
    let good = json!({"accountNumber": "A1", "externalId": "imp-good", "name": "Imported", "type": "PERSONAL",
        "owner": owner, "assets": [{"currency": "USD", "available": "10.50", "onHold": "1.00"}]});
    let mut bad_decimals = good.clone();
    bad_decimals["externalId"] = json!("imp-decimals");
    bad_decimals["assets"][0]["available"] = json!("1.234");
    let orphan = json!({"externalId": "imp-orphan", "name": "Orphan", "type": "PERSONAL", "owner": owner,
        "parent": {"accountNumber": "NOPE"}});
    let mut twice = good.clone();
    twice["accountNumber"] = json!("A2");
    let wallet = json!({"externalId": "imp-wallet", "name": "Bad wallet", "type": "CRYPTO", "owner": owner,
        "assets": [{"currency": "ETH", "wallets": [{"network": "ethereum", "address": "0x123"}]}]});
    let overdrawn = json!({"externalId": "imp-overdrawn", "name": "Overdrawn", "type": "PERSONAL", "owner": owner,
        "assets": [{"currency": "USD", "available": "-5"}]});
    let lines = [
        good.to_string(),
        "{not json".to_owned(),
        bad_decimals.to_string(),
        orphan.to_string(),
        String::new(),
        twice.to_string(),
        wallet.to_string(),
        overdrawn.to_string(),
    ];
    let file = temp_file("jsonl");
    std::fs::write(&file, lines.join("\n")).expect("written");
    let (summary, rejected, status) = import(&app, &file, "demo");
    let _ = std::fs::remove_file(&file);
    assert_eq!(status, Some(2), "rows were rejected: {summary}");
    assert_eq!(summary, "created 1, skipped 0 (already there), rejected 6");
    let expected = [
        "line 2: line: is not JSON",
        "line 3: assets.0.available: has more than 2 decimals",
        "line 4: parent: ",
        "line 6: externalId: already used on line 1 of the file",
        "line 7: assets.0.wallets.0.address: ",
        "line 8: assets.0.available: available + creditLimit would fall below zero",
    ];
    assert_eq!(rejected.len(), expected.len(), "{rejected:?}");
    for (got, want) in rejected.iter().zip(expected) {
        assert!(got.starts_with(want), "{got:?} should start with {want:?}");
    }
    let q =
        "query($e: String!) { accountByExternalId(externalId: $e) { name assets { balance { available onHold } } } }";
    let made = app.data(q, json!({"e": "imp-good"})).await;
    assert_eq!(made["accountByExternalId"]["assets"][0]["balance"], json!({"available": "10.50", "onHold": "1.00"}));
    for e in ["imp-decimals", "imp-orphan", "imp-wallet", "imp-overdrawn"] {
        assert!(app.data(q, json!({"e": e})).await["accountByExternalId"].is_null(), "{e} was not written");
    }
}
