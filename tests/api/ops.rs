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
