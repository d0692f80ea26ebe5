//! A second organization's rows never reach the demo organization.

use crate::helpers::{Backend, TestApp};
use accounts_gateway::domain::Role;
use accounts_gateway::service::api_keys;
use accounts_gateway::service::seed;
use entity::{account, client};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

async fn other_organization_is_invisible(app: TestApp) {
    let key = app.store.card_key.clone();
    seed::seed(&app.db, "other", 5, &key, app.clock.now()).await.unwrap();
    let other = accounts_gateway::service::organizations::ensure(&app.db, "other").await.unwrap();
    let theirs =
        account::Entity::find().filter(account::Column::OrganizationId.eq(other.id)).all(&app.db).await.unwrap();
    assert_eq!(theirs.len(), 19, "the other organization has the demo set and 5 more");
    let their_client =
        client::Entity::find().filter(client::Column::OrganizationId.eq(other.id)).one(&app.db).await.unwrap().unwrap();
    let ids: Vec<String> = theirs.iter().map(|a| a.id.to_string()).collect();

    let d = app
        .data(
            r#"query($id: UUID!, $ids: [UUID!], $client: UUID!) {
                all: accounts(first: 500) { totalCount }
                byIds: accounts(filter: {id: {in: $ids}}) { totalCount nodes { id } }
                owned: accounts(filter: {ownerId: $client}) { totalCount }
                account(id: $id) { name }
                client(id: $client) { name }
                clients { totalCount }
                currencies { code }
                accountTypes { code }
                networks { code }
                projects { name }
                byExt: accountByExternalId(externalId: "acc-ana-main") { id }
                search: accounts(filter: {search: "Account "}) { totalCount }
            }"#,
            json!({"id": ids[0], "ids": ids, "client": their_client.id}),
        )
        .await;
    assert_eq!(d["all"]["totalCount"], 14);
    assert_eq!(d["byIds"]["totalCount"], 0);
    assert_eq!(d["owned"]["totalCount"], 0);
    assert_eq!(d["account"], serde_json::Value::Null);
    assert_eq!(d["client"], serde_json::Value::Null);
    assert_eq!(d["clients"]["totalCount"], 5);
    assert_eq!(d["currencies"].as_array().unwrap().len(), 6);
    assert_eq!(d["accountTypes"].as_array().unwrap().len(), 7);
    assert_eq!(d["networks"].as_array().unwrap().len(), 4);
    assert_eq!(d["projects"].as_array().unwrap().len(), 2);
    assert_eq!(d["search"]["totalCount"], 0, "generated accounts live in the other organization");
    let ours =
        account::Entity::find().filter(account::Column::ExternalId.eq("acc-ana-main")).all(&app.db).await.unwrap();
    assert_eq!(ours.len(), 2, "both organizations use the external id");
    let mine = ours.iter().find(|a| a.organization_id != other.id).unwrap();
    assert_eq!(d["byExt"]["id"], mine.id.to_string());
}

crate::backend_tests!(other_organization_is_invisible);

/// One organization running its share of requests makes its own next ones
/// wait (then refused), never another organization's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_runs_its_share_of_requests_at_once() {
    let server = crate::quote_server::QuoteServer::start().await;
    server.set(crate::quote_server::Mode::Slow(std::time::Duration::from_secs(3)));
    let mut flags = server.flags(60);
    flags.extend(["--tenant-max-concurrent-requests", "1", "--tenant-queue-ms", "100"].map(String::from));
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let app = std::sync::Arc::new(TestApp::spawn_with(Backend::Sqlite, &flags).await.unwrap());
    let slow = r#"{ quotes(currencies: ["BTC"]) { usdRate } }"#;
    let calls_before = server.calls();
    let busy = {
        let app = app.clone();
        tokio::spawn(async move { app.gql(slow, serde_json::json!({})).await })
    };
    let running = || async { server.calls() > calls_before };
    crate::services::wait_until("the slow request runs", std::time::Duration::from_secs(10), running).await;
    let refused = app
        .http
        .post(format!("{}/graphql", app.base))
        .json(&serde_json::json!({"query": "{ viewer { role } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().get("retry-after").is_some());
    let (_, other) = api_keys::create(&app.db, "elsewhere", Role::Viewer, "b").await.unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", app.base))
        .header("x-api-key", other)
        .json(&serde_json::json!({"query": "{ viewer { role } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "another organization is not behind it");
    busy.abort();
}
