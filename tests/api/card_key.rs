//! The card fingerprint key lives outside the database: in a 0600 file
//! beside the SQLite file, moved there from the database on first start,
//! checked against the database on every start, at least 32 bytes.

use crate::helpers::{Backend, TestApp};
use accounts_gateway::app::Application;
use accounts_gateway::config::Cli;
use clap::Parser;
use entity::server_setting;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use std::os::unix::fs::PermissionsExt;

fn sqlite_url() -> (String, std::path::PathBuf) {
    let db = std::env::temp_dir().join(format!("ag-key-{}.db", uuid::Uuid::new_v4().simple()));
    (format!("sqlite://{}?mode=rwc", db.display()), std::path::PathBuf::from(format!("{}.card-key", db.display())))
}

async fn start(url: &str, extra: &[&str]) -> anyhow::Result<Application> {
    let mut args = vec!["accounts-gateway", "--bind", "127.0.0.1:0", "--database-url", url];
    args.extend_from_slice(extra);
    Application::build(&Cli::parse_from(args).settings).await
}

async fn stored_settings(app: &Application) -> Vec<String> {
    server_setting::Entity::find().all(app.db()).await.unwrap().into_iter().map(|s| s.name).collect()
}

#[tokio::test]
async fn a_generated_key_is_kept_in_a_private_file_beside_the_database() {
    let (url, key_file) = sqlite_url();
    let first = start(&url, &[]).await.expect("starts");
    let meta = std::fs::metadata(&key_file).expect("the key file exists");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(hex::decode(text.trim()).unwrap().len(), 32);
    assert_eq!(first.store().card_key.as_slice(), hex::decode(text.trim()).unwrap().as_slice());
    assert!(!stored_settings(&first).await.contains(&"card_fingerprint_key".to_owned()), "not in the database");
    let again = start(&url, &[]).await.expect("restarts");
    assert_eq!(again.store().card_key, first.store().card_key, "the same key on every start");
}

#[tokio::test]
async fn a_key_kept_in_the_database_by_an_older_version_is_moved_out() {
    let (url, key_file) = sqlite_url();
    let app = start(&url, &[]).await.expect("starts");
    // What an older version left: the key in the database, no file, no check.
    let old = [7u8; 32];
    std::fs::remove_file(&key_file).unwrap();
    server_setting::Entity::delete_by_id("card_fingerprint_key_check".to_owned()).exec(app.db()).await.unwrap();
    server_setting::ActiveModel { name: Set("card_fingerprint_key".into()), value: Set(hex::encode(old)) }
        .insert(app.db())
        .await
        .unwrap();
    let moved = start(&url, &[]).await.expect("starts and moves the key");
    assert_eq!(moved.store().card_key.as_slice(), &old, "fingerprints keep matching");
    assert_eq!(hex::decode(std::fs::read_to_string(&key_file).unwrap().trim()).unwrap(), old);
    assert!(!stored_settings(&moved).await.contains(&"card_fingerprint_key".to_owned()), "gone from the database");
}

#[tokio::test]
async fn a_short_missing_or_different_key_is_refused_at_start() {
    let (url, key_file) = sqlite_url();
    let short = start(&url, &["--card-hash-key", "only-twenty-bytes-ok"]).await.err().expect("refused");
    assert!(format!("{short:#}").contains("at least 32"), "{short:#}");
    start(&url, &[]).await.expect("starts");
    std::fs::remove_file(&key_file).unwrap();
    let missing = start(&url, &[]).await.err().expect("refused");
    assert!(format!("{missing:#}").contains("missing"), "{missing:#}");
    let other =
        start(&url, &["--card-hash-key", "a-different-key-that-is-long-enough-32"]).await.err().expect("refused");
    assert!(format!("{other:#}").contains("not the key"), "{other:#}");
}

#[tokio::test]
async fn replicas_over_postgres_share_the_key_file() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let replica = app.sibling(&[]).await;
    assert_eq!(replica.store.card_key, app.store.card_key);
    let names = server_setting::Entity::find().all(&app.db).await.unwrap();
    assert!(names.iter().all(|s| s.name != "card_fingerprint_key"));
}
