//! The requests' read pool on PostgreSQL: a connection goes back only
//! after its statement has read its answer, so one cancelled midway is
//! closed, never handed to the next request mid-answer; the pool stays
//! within its size; and a gateway's queries read through it.

use crate::helpers::{Backend, TestApp};
use crate::services::wait_until;
use accounts_gateway::error::AppError;
use accounts_gateway::read_pool::ReadPool;
use sea_orm::{ConnAcquireErr, ConnectionTrait, DbBackend, DbErr, Statement};
use serde_json::json;
use std::time::Duration;

fn sql(text: &str) -> Statement {
    Statement::from_string(DbBackend::Postgres, text)
}

/// A read pool of `size` over a fresh test database (the app made it).
async fn pool_of(size: u32) -> Option<(TestApp, ReadPool)> {
    let app = TestApp::spawn(Backend::Postgres).await?;
    let pool = ReadPool::new(app.db_url.parse().expect("a PostgreSQL URL"), size, None);
    Some((app, pool))
}

/// The one integer `stmt` answers.
async fn int(pool: &ReadPool, stmt: &str) -> i32 {
    let rows = pool.query_all(sql(stmt)).await.expect("the statement runs");
    rows[0].try_get_by_index(0).expect("an int4")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_goes_back_only_after_its_statement_completed() {
    let Some((_app, pool)) = pool_of(2).await else { return };
    assert_eq!(int(&pool, "SELECT 1").await, 1);
    assert_eq!(int(&pool, "SELECT 2").await, 2);
    assert_eq!(pool.state(), (1, 1), "the second statement reused the first's connection");

    // Cancelled while the server is still answering (a client gone, the
    // request's time limit): the rest of the answer is drained in the
    // background and the connection goes back, answering the next
    // statement with its own answer, not the rest of the old one.
    let short = sql("SELECT 9 FROM pg_sleep(0.2)");
    assert!(tokio::time::timeout(Duration::from_millis(50), pool.query_all(short)).await.is_err(), "cancelled");
    wait_until("drained and back", Duration::from_secs(10), || async { pool.state() == (1, 1) }).await;
    assert_eq!(int(&pool, "SELECT 3").await, 3);
    // One whose answer takes longer than the drain may wait is closed.
    let long = sql("SELECT 9 FROM pg_sleep(5)");
    assert!(tokio::time::timeout(Duration::from_millis(50), pool.query_all(long)).await.is_err(), "cancelled");
    wait_until("closed", Duration::from_secs(10), || async { pool.state() == (0, 0) }).await;
    assert_eq!(int(&pool, "SELECT 4").await, 4, "the next statement gets a fresh connection");

    // A statement the server refuses leaves its connection having read the
    // refusal: it goes back and answers the next statement correctly.
    let refused = pool.query_all(sql("SELECT 1/0")).await;
    assert!(matches!(refused, Err(DbErr::Query(_))), "{refused:?}");
    assert_eq!(pool.state(), (1, 1));
    assert_eq!(int(&pool, "SELECT 5").await, 5);
    assert_eq!(pool.state(), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pool_makes_a_read_wait_then_time_out() {
    let Some((_app, pool)) = pool_of(1).await else { return };
    let holder = pool.clone();
    let held = tokio::spawn(async move { holder.query_all(sql("SELECT 7 FROM pg_sleep(3)")).await });
    wait_until("the only connection in use", Duration::from_secs(10), || async { pool.state() == (1, 0) }).await;
    // The acquire timeout (1 s) runs out well before the holder's 3 s.
    let waited = pool.query_all(sql("SELECT 1")).await;
    assert!(matches!(waited, Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout))), "{waited:?}");
    let rows = held.await.expect("the holder ran").expect("its statement completed");
    assert_eq!(rows[0].try_get_by_index::<i32>(0).unwrap(), 7);
    assert_eq!(pool.state(), (1, 1), "given back once its statement completed");
    assert_eq!(int(&pool, "SELECT 6").await, 6);
}

/// One state of `gateway_db_read_pool_connections` from `/metrics`.
async fn read_pool_gauge(app: &TestApp, state: &str) -> u64 {
    let text = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let prefix = format!("gateway_db_read_pool_connections{{state=\"{state}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&prefix)).and_then(|v| v.trim().parse().ok()).expect("the gauge")
}

const PAGE: &str = "{ accounts(first: 3) { nodes { name owner { name } assets { currency { code } } } } }";

#[tokio::test]
async fn queries_read_through_the_read_pool_unless_it_is_off() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let page = app.data(PAGE, json!({})).await;
    for _ in 0..5 {
        assert_eq!(app.data(PAGE, json!({})).await, page);
    }
    // Between requests the pool's connections wait, none in use.
    assert!(read_pool_gauge(&app, "idle").await >= 1);
    assert_eq!(read_pool_gauge(&app, "in_use").await, 0);

    // Sized apart: the loaders a page runs at once (assets, cards,
    // sub-accounts) wait their turn for the one connection.
    let wide = "{ accounts(first: 5) { nodes { name assets { id } smartCards { id } subAccounts { nodes { id } } } } }";
    let expected = app.data(wide, json!({})).await;
    let one = app.sibling(&["--database-read-max-connections", "1"]).await;
    for _ in 0..5 {
        assert_eq!(one.data(wide, json!({})).await, expected);
    }
    assert_eq!(read_pool_gauge(&one, "idle").await, 1);

    let plain = app.sibling(&["--database-read-pool", "false"]).await;
    assert_eq!(plain.data(PAGE, json!({})).await, page, "the same answer through the request pool");
    assert_eq!(read_pool_gauge(&plain, "idle").await, 0);
}

#[tokio::test]
async fn a_server_out_of_connections_answers_unavailable() {
    use sea_orm::sqlx::{postgres::PgConnectOptions, ConnectOptions as _};
    let Some((app, _)) = pool_of(1).await else { return };
    // A role allowed one connection: the server refuses the second with
    // SQLSTATE 53300 (too many connections), as a full server would.
    let role = format!("ag_limited_{}", uuid::Uuid::new_v4().simple());
    app.db.execute_unprepared(&format!("CREATE ROLE {role} LOGIN CONNECTION LIMIT 1")).await.unwrap();
    let options: PgConnectOptions = app.db_url.parse::<PgConnectOptions>().unwrap().username(&role);
    let held = options.connect().await.expect("the role's one connection");
    let pool = ReadPool::new(options, 4, None);
    let refused = pool.query_all(sql("SELECT 1")).await.expect_err("no connection left for the role");
    let code = AppError::from(refused).code();
    drop(held);
    app.db.execute_unprepared(&format!("DROP ROLE {role}")).await.unwrap();
    assert_eq!(code, "UNAVAILABLE", "a full server is a retry, not an internal error");
}
