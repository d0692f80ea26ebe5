//! Export: the caller's accounts over HTTP as JSON Lines and CSV, the same
//! as the API answers them, and the `export` command to a file.

use crate::helpers::{Backend, TestApp};
use serde_json::{json, Value};

/// An asset as (currency, available, wallets as (network, address)).
type Holding = (String, String, Vec<(String, String)>);

async fn get(app: &TestApp, params: &[(&str, &str)]) -> reqwest::Response {
    app.http.get(format!("{}/export/accounts", app.base)).query(params).send().await.expect("answer")
}

async fn jsonl_export_matches_the_api(app: TestApp) {
    let total = app.data("{ accounts { totalCount } }", json!({})).await["accounts"]["totalCount"].as_u64();
    let resp = get(&app, &[("format", "jsonl")]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/jsonl");
    let text = resp.text().await.expect("body");
    let rows: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(Some(rows.len() as u64), total, "every live account, once");
    let uids: Vec<i64> = rows.iter().filter_map(|r| r["uid"].as_i64()).collect();
    assert!(uids.windows(2).all(|w| w[0] < w[1]), "in uid order");
    let john = rows.iter().find(|r| r["externalId"] == "acc-john-crypto").expect("John's account");
    let q = r#"{ accountByExternalId(externalId: "acc-john-crypto") { assets { currency { code } balance { available onHold }
        wallets { address network { code } } } } }"#;
    let api = app.data(q, json!({})).await;
    let from_api: Vec<Holding> = (api["accountByExternalId"]["assets"].as_array())
        .into_iter()
        .flatten()
        .map(|a| {
            let wallets = (a["wallets"].as_array().into_iter().flatten())
                .map(|w| (w["network"]["code"].as_str().unwrap().to_owned(), w["address"].as_str().unwrap().to_owned()))
                .collect();
            (
                a["currency"]["code"].as_str().unwrap().to_owned(),
                a["balance"]["available"].as_str().unwrap().to_owned(),
                wallets,
            )
        })
        .collect();
    let exported: Vec<Holding> = (john["assets"].as_array().into_iter().flatten())
        .map(|a| {
            let wallets = (a["wallets"].as_array().into_iter().flatten())
                .map(|w| (w["network"].as_str().unwrap().to_owned(), w["address"].as_str().unwrap().to_owned()))
                .collect();
            (a["currency"].as_str().unwrap().to_owned(), a["available"].as_str().unwrap().to_owned(), wallets)
        })
        .collect();
    let mut from_api = from_api;
    let mut exported = exported;
    from_api.sort();
    exported.sort();
    assert_eq!(exported, from_api, "assets, balances and wallets as the API gives them");
    assert_eq!(john["owner"]["externalId"], "cli-john");
    assert!(
        john["cards"][0]["last4"].is_string() && john["cards"][0].get("fingerprint").is_none(),
        "public fields only"
    );
}

async fn csv_export_is_filtered_like_accounts(app: TestApp) {
    let filter = r#"{"externalId": {"eq": "acc-ana-main"}}"#;
    let resp = get(&app, &[("format", "csv"), ("filter", filter)]).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("account_uid,account_number,account_external_id,"), "{}", lines[0]);
    assert_eq!(lines.len(), 3, "the header and one row per asset (USD, BRL): {text}");
    assert!(lines[1..].iter().all(|l| l.contains(",acc-ana-main,")));
    assert!(lines[1..].iter().any(|l| l.contains(",USD,")) && lines[1..].iter().any(|l| l.contains(",BRL,")));
    // Metadata is a JSON object in one quoted cell.
    assert!(lines[1].contains(r#""{""segment"":""retail"""#), "{}", lines[1]);
}

/// An organization's export holds its own accounts only: another
/// organization's key gets its own (here: none), and the control, the
/// demo organization's key, gets the demo accounts.
async fn an_export_holds_the_callers_organization_only(app: TestApp) {
    let (_, other) =
        accounts_gateway::service::api_keys::create(&app.db, "other", accounts_gateway::domain::Role::Admin, "o")
            .await
            .expect("a key of another organization");
    let theirs = reqwest::Client::new()
        .get(format!("{}/export/accounts", app.base))
        .query(&[("format", "jsonl")])
        .header("x-api-key", other)
        .send()
        .await
        .expect("answer");
    assert_eq!(theirs.status(), 200);
    let theirs = theirs.text().await.expect("body");
    let ours = get(&app, &[("format", "jsonl")]).await.text().await.expect("body");
    assert!(ours.contains("acc-john-crypto"), "the control: the demo organization sees its accounts");
    assert!(theirs.trim().is_empty(), "another organization sees none of them: {theirs}");
}

crate::backend_tests!(
    jsonl_export_matches_the_api,
    csv_export_is_filtered_like_accounts,
    an_export_holds_the_callers_organization_only
);

#[tokio::test]
async fn export_needs_a_credential_and_good_parameters() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let anonymous = reqwest::get(format!("{}/export/accounts", app.base)).await.expect("answer");
    assert_eq!(anonymous.status(), 401);
    for (params, field) in [(vec![("format", "xml")], "format"), (vec![("filter", "{not json")], "filter")] {
        let resp = get(&app, &params).await;
        assert_eq!(resp.status(), 400);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["errors"][0]["extensions"]["code"], "VALIDATION_FAILED");
        assert_eq!(body["errors"][0]["extensions"]["details"][0]["field"], field);
    }
    let too_many = get(&app, &[("filter", r#"{"status": ["NOPE"]}"#)]).await;
    assert_eq!(too_many.status(), 400, "a filter the API refuses is refused here too");
}

#[tokio::test]
async fn the_export_command_writes_a_file() {
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let out = std::env::temp_dir().join(format!("ag-export-{}.csv", uuid::Uuid::new_v4().simple()));
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-gateway"))
        .args(["export", "--org", "demo", "--output"])
        .arg(&out)
        .args(["--database-url", &app.db_url])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("accounts [") && !stderr.contains('\r'), "no progress bar off a terminal: {stderr}");
    let text = std::fs::read_to_string(&out).expect("the file");
    let _ = std::fs::remove_file(&out);
    let total = app.data("{ accounts { totalCount } }", json!({})).await["accounts"]["totalCount"].as_u64();
    let accounts: std::collections::HashSet<&str> = text.lines().skip(1).filter_map(|l| l.split(',').next()).collect();
    assert!(text.starts_with("account_uid,"), "CSV from the .csv extension");
    assert_eq!(Some(accounts.len() as u64), total);
}
