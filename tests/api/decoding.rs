//! Rows decoded by position (`service::by_index`, what every page reads
//! through) hold exactly what SeaORM's own decoding of the same rows
//! holds, for every table it covers, and a column read as a type it is
//! not is an error, never a panic or a wrong value.

use crate::helpers::TestApp;
use accounts_gateway::service::by_index::{self, ByIndex};
use entity::{account, currency};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, Iterable, PrimaryKeyToColumn, QueryFilter, QueryOrder};
use serde_json::json;
use uuid::Uuid;

/// Every row of `E`, decoded both ways, in primary-key order.
async fn same_rows<E>(db: &DatabaseConnection)
where
    E: EntityTrait,
    E::Model: ByIndex + PartialEq + std::fmt::Debug,
{
    let mut query = E::find();
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    let ours = by_index::all(db, query.clone()).await.expect("decoded by position");
    let theirs = query.all(db).await.expect("decoded by SeaORM");
    let table = E::default().table_name().to_owned();
    assert!(!theirs.is_empty(), "the demo data has {table}");
    assert_eq!(ours, theirs, "{table}");
}

async fn decodes_as_seaorm_does(app: TestApp) {
    // Some optional values set, so both NULL and non-NULL are compared.
    let db = &app.db;
    // Transfers, with and without the optional columns (fee, metadata).
    let usd = |ext: &str| {
        let q = format!("{{ accountByExternalId(externalId: \"{ext}\") {{ assets {{ id currency {{ code }} }} }} }}");
        let app = &app;
        async move {
            let d = app.data(&q, json!({})).await;
            let assets = d["accountByExternalId"]["assets"].as_array().cloned().unwrap_or_default();
            assets.into_iter().find(|a| a["currency"]["code"] == "USD").map(|a| a["id"].clone()).unwrap()
        }
    };
    let (from, to) = (usd("acc-acme-ops").await, usd("acc-ana-main").await);
    app.data("mutation { systemAccount(role: FEE_PAYER, currency: \"USD\") { id } }", json!({})).await;
    let transfer = "mutation($i: TransferInput!) { transfer(input: $i) { id } }";
    app.data(transfer, json!({"i": {"idempotencyKey": "d-1", "fromAssetId": from, "toAssetId": to, "amount": "1.00"}}))
        .await;
    let full = json!({"idempotencyKey": "d-2", "fromAssetId": from, "toAssetId": to, "amount": "2.50", "fee": "0.10",
        "reason": "decoding", "metadata": {"k": "v"}});
    app.data(transfer, json!({ "i": full })).await;
    let first = app.data("{ accounts(first: 1) { nodes { id } } }", json!({})).await;
    let id = first["accounts"]["nodes"][0]["id"].clone();
    let blocked = app
        .data(
            r#"mutation($id: UUID!) { setAccountStatus(id: $id, status: BLOCKED, reason: {code: "AML", description: "a check"}) { status } }"#,
            json!({ "id": id }),
        )
        .await;
    assert_eq!(blocked["setAccountStatus"]["status"], "BLOCKED");
    macro_rules! same {
        ($($table:ident),+) => {$( same_rows::<entity::$table::Entity>(db).await; )+};
    }
    accounts_gateway::by_index_tables!(same);
}

async fn a_wrong_type_is_an_error(app: TestApp) {
    let db = &app.db;
    let rows = by_index::rows(db, &currency::Entity::find().order_by_asc(currency::Column::Code)).await.unwrap();
    let code = currency::Model::FIELDS.iter().position(|f| *f == "code").unwrap();
    let mut seen = 0;
    for row in &rows {
        // Read as text it is the code; read as a number, on every row,
        // including those after one that read it as text.
        assert!(row.get::<String>(code).is_ok_and(|c| c.len() >= 3));
        assert!(row.get::<i64>(code).is_err(), "a code read as a number");
        assert!(row.get::<bool>(code).is_err(), "a code read as a boolean");
        seen += 1;
    }
    assert!(seen > 1, "several currencies");
    if app.db_url.starts_with("postgres") {
        // A NULL is checked too: the next row may hold a value.
        let query = account::Entity::find().filter(account::Column::Alias.is_null());
        let rows = by_index::rows(db, &query).await.unwrap();
        let alias = account::Model::FIELDS.iter().position(|f| *f == "alias").unwrap();
        let first = rows.first().expect("accounts without an alias");
        assert!(first.get::<Option<Uuid>>(alias).is_err(), "a text column read as a UUID");
        assert!(first.get::<Option<String>>(alias).is_ok_and(|a| a.is_none()));
    }
}

crate::backend_tests!(decodes_as_seaorm_does, a_wrong_type_is_an_error);
