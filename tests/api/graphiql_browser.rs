//! GraphiQL in a real headless Chromium (Debian's `chromium`, driven by
//! `playwright-core` from npm): with nothing reachable but the gateway, a
//! newcomer pastes the API-key header, runs a query and sees account
//! names, then runs a subscription and sees an event arrive. The steps are
//! in `tests/browser/graphiql.mjs`.

use crate::helpers::{Backend, TestApp};
use std::path::Path;

/// Node, Chromium and playwright-core (on NODE_PATH), or why not.
fn browser_tools() -> Result<(), String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("no Chromium at {chromium} (apt-get install chromium)"));
    }
    let found = std::process::Command::new("node")
        .args(["-e", "require.resolve('playwright-core')"])
        .status()
        .map_err(|e| format!("no node: {e}"))?;
    if !found.success() {
        return Err("playwright-core is not on NODE_PATH (npm install playwright-core)".into());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_runs_a_query_and_a_subscription_in_chromium() {
    if let Err(why) = browser_tools() {
        crate::helpers::skip(format!("the browser test cannot run: {why}"));
        return;
    }
    let Some(app) = TestApp::spawn(Backend::Sqlite).await else { return };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/graphiql.mjs");
    // The browser keeps the real clock even when this test runs under a
    // faked one (faketime preloads itself into every child otherwise).
    let run = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&app.base)
        .arg(&app.key)
        .env_remove("LD_PRELOAD")
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(180), run)
        .await
        .expect("the browser finishes within 3 minutes")
        .expect("node runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.trim_end().ends_with("ok"), "{stdout}\n{stderr}");
}
