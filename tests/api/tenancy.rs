//! A second organization's rows never reach the demo organization.

use crate::helpers::TestApp;
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
