//! Reads from a PostgreSQL streaming replica (`--database-read-url`): a
//! primary and a `pg_basebackup` replica of the test's own. Pausing the
//! replica's replay makes it visibly behind, which shows where each read
//! goes: queries on the replica, a mutation's answer on the primary, and
//! the primary again when the replica lags too far or dies.

use crate::helpers::TestApp;
use crate::services::{wait_until, OwnPostgres};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{json, Value};
use std::time::Duration;

const NAME: &str = r#"{ accountByExternalId(externalId: "acc-ana-main") { name } }"#;
const RENAME: &str = "mutation($id: UUID!, $n: String!) { updateAccount(id: $id, input: {name: $n}) { name } }";
const CREATE: &str = r#"mutation($o: UUID!) { createAccount(input: {name: "Fresh", type: "PERSONAL", ownerId: $o,
    assets: [{currency: "EUR", initialBalance: "12.00"}]}) { name assets { currency { code } balance { available } } } }"#;

async fn name_of_ana(app: &TestApp) -> Value {
    app.data(NAME, json!({})).await["accountByExternalId"]["name"].clone()
}

async fn replay(standby: &DatabaseConnection, on: bool) {
    let sql = if on { "SELECT pg_wal_replay_resume()" } else { "SELECT pg_wal_replay_pause()" };
    standby.execute_unprepared(sql).await.unwrap();
}

async fn usable(app: &TestApp, expected: u64) {
    let what = format!("gateway_db_replica_usable = {expected}");
    wait_until(&what, Duration::from_secs(30), || async { app.metric("gateway_db_replica_usable").await == expected })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_read_the_replica_and_fall_back_when_it_lags_or_dies() {
    let Some(primary) = OwnPostgres::start().await else { return };
    let admin = Database::connect(primary.url()).await.unwrap();
    admin.execute_unprepared("CREATE DATABASE gateway").await.unwrap();
    let replica = OwnPostgres::replica_of(&primary).await;
    let url = format!("postgres://postgres@127.0.0.1:{}/gateway", primary.port);
    let read_url = format!("postgres://postgres@127.0.0.1:{}/gateway", replica.port);
    // A replica an hour behind is still read: only the pause moves it.
    let app =
        TestApp::spawn_on(&url, &["--database-read-url", &read_url, "--database-read-max-lag-ms", "3600000"]).await;
    usable(&app, 1).await;
    wait_until("the replica has the demo set", Duration::from_secs(30), || async {
        name_of_ana(&app).await == "Ana personal"
    })
    .await;
    let standby = Database::connect(replica.url()).await.unwrap();
    let ana = app.account_id("acc-ana-main").await;
    let owner = app.client_id("cli-ana").await;

    replay(&standby, false).await;
    let renamed = app.data(RENAME, json!({"id": ana, "n": "Ana renamed"})).await;
    assert_eq!(renamed["updateAccount"]["name"], "Ana renamed");
    // The answer of a mutation reads what it wrote (its nested assets come
    // from a loader): the primary.
    let created = app.data(CREATE, json!({"o": owner})).await["createAccount"].clone();
    assert_eq!(created["assets"], json!([{"currency": {"code": "EUR"}, "balance": {"available": "12.00"}}]));
    // A query reads the paused replica: the old name.
    assert_eq!(name_of_ana(&app).await, "Ana personal", "queries read the replica");
    replay(&standby, true).await;
    wait_until("the replica replays the rename", Duration::from_secs(30), || async {
        name_of_ana(&app).await == "Ana renamed"
    })
    .await;

    // A gateway that allows 100 ms of lag reads the primary while the
    // replica is held behind, and the replica again once it catches up.
    let strict = app.sibling(&["--database-read-url", &read_url, "--database-read-max-lag-ms", "100"]).await;
    usable(&strict, 1).await;
    replay(&standby, false).await;
    app.data(RENAME, json!({"id": ana, "n": "Ana again"})).await;
    wait_until("the lagging replica is left for the primary", Duration::from_secs(30), || async {
        name_of_ana(&strict).await == "Ana again"
    })
    .await;
    assert_eq!(strict.metric("gateway_db_replica_usable").await, 0);
    assert_eq!(name_of_ana(&app).await, "Ana renamed", "the lenient gateway still reads the replica");
    replay(&standby, true).await;
    usable(&strict, 1).await;

    // The replica dies: queries go on, on the primary, with fresh data.
    drop(standby);
    replica.crash().await;
    usable(&app, 0).await;
    app.data(RENAME, json!({"id": ana, "n": "Ana after"})).await;
    assert_eq!(name_of_ana(&app).await, "Ana after");
    let ready = app.http.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(ready.status(), 200, "a dead replica does not make the gateway unready");
}
