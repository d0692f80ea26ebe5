//! Operations: the committed SDL matches the code, start-up on an empty
//! database with `--no-seed`.

use crate::helpers::{Backend, TestApp};
use serde_json::json;

#[test]
fn schema_graphql_is_the_exported_sdl() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).expect("schema.graphql");
    assert!(
        committed == accounts_gateway::graphql::sdl(),
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn no_seed_starts_empty() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, &["--no-seed"]).await else { return };
    let d =
        app.data("{ viewer { organization { name } } accounts { totalCount } currencies { code } }", json!({})).await;
    assert_eq!(d["viewer"]["organization"]["name"], "demo");
    assert_eq!(d["accounts"]["totalCount"], 0);
    assert_eq!(d["currencies"], json!([]));
}

#[tokio::test]
async fn the_first_serve_prints_an_admin_key_once_even_after_seed() {
    let url =
        format!("sqlite://{}/ag-seed-{}.db?mode=rwc", std::env::temp_dir().display(), uuid::Uuid::new_v4().simple());
    let seeded = std::process::Command::new(env!("CARGO_BIN_EXE_accounts-gateway"))
        .args(["seed", "--database-url", &url])
        .output()
        .expect("seed runs");
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    let build = |url: &str| {
        let cli = <accounts_gateway::config::Cli as clap::Parser>::parse_from([
            "x",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            url,
        ]);
        async move { accounts_gateway::app::Application::build(&cli.settings).await.expect("starts") }
    };
    let first = build(&url).await;
    assert!(first.initial_admin_key().is_some_and(|k| k.starts_with("agk_")), "seeded but keyless: a key is made");
    let second = build(&url).await;
    assert!(second.initial_admin_key().is_none(), "only once");
}

/// Every setting, given a value it cannot take, stops the start with an
/// error (clap's, or a one-line one from start-up), never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_setting_refuses_a_bad_value_without_a_panic() {
    use clap::CommandFactory;
    let command = accounts_gateway::config::Cli::command();
    let settings: Vec<String> = command
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| a.get_long().map(str::to_owned))
        .filter(|long| long != "database-url")
        .collect();
    assert!(settings.len() > 40, "{} settings", settings.len());
    let mut started = Vec::new();
    for long in &settings {
        for bad in ["", "-1", "not a value \u{7}", "99999999999999999999999", "http://"] {
            let url = format!(
                "sqlite://{}/ag-bad-{}.db?mode=rwc",
                std::env::temp_dir().display(),
                uuid::Uuid::new_v4().simple()
            );
            let flag = format!("--{long}");
            // A file setting may create its file (the card key): never in
            // the working directory, which is the checkout.
            let value = match long.ends_with("-file") && !bad.is_empty() {
                true => std::env::temp_dir().join(format!("ag-bad-{}", uuid::Uuid::new_v4().simple())).join(bad),
                false => std::path::PathBuf::from(bad),
            };
            let value = value.to_string_lossy();
            let args = ["x", "--bind", "127.0.0.1:0", "--database-url", &url, "--no-seed", &flag, &value];
            let Ok(cli) = <accounts_gateway::config::Cli as clap::Parser>::try_parse_from(args) else { continue };
            let settings = cli.settings;
            let built =
                tokio::spawn(async move { accounts_gateway::app::Application::build(&settings).await.map(|_| ()) });
            match built.await {
                Err(e) => panic!("--{long} {bad:?} panicked: {e}"),
                Ok(Err(e)) => {
                    let message = format!("{e:#}");
                    assert!(!message.contains('\n') && !message.is_empty(), "--{long} {bad:?}: {message}");
                }
                Ok(Ok(())) => started.push(format!("--{long} {bad:?}")),
            }
        }
    }
    // Free text (names, prefixes, paths that are created) may take anything.
    eprintln!("accepted: {}", started.len());
}
