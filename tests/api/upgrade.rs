//! A database made and used by a build from before the balance journal,
//! upgraded by this one: every balance kept, and the journal rebuilt from
//! the audit trail where it has the changes; where it has not, reads
//! before the known history are errors, never a number.

use crate::helpers::{fresh_database, Backend};
use accounts_gateway::domain::commands::{NewAccountType, NewCurrency};
use accounts_gateway::domain::{AccountKind, AccountStatus, AssetStatus, CurrencyType};
use accounts_gateway::error::AppError;
use accounts_gateway::service::{journal, rows};
use chrono::{DateTime, TimeZone, Utc};
use entity::{asset, audit_event, network, organization, wallet, Amount};
use migration::{Migrator, MigratorTrait};
use rust_decimal::Decimal;
use sea_orm::{ActiveValue::NotSet, Database, DatabaseConnection, EntityTrait, Set};
use serde_json::json;
use uuid::Uuid;

/// The migrations a build from before the journal had applied.
const BEFORE_THE_JOURNAL: u32 = 4;

fn t(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, if d > 30 { 12 } else { 11 }, if d > 30 { d - 30 } else { d }, h, 0, 0).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// An asset row as the earlier schema had it (no column of later builds).
async fn old_asset(db: &DatabaseConnection, org: Uuid, account: Uuid, currency: Uuid, now: &str) -> Uuid {
    let mut row = rows::asset(org, account, currency, AssetStatus::Active, t(7, 9));
    row.available = Set(Amount(dec(now)));
    row.history_starts_at = NotSet;
    let id = *row.id.as_ref();
    asset::Entity::insert(row).exec_without_returning(db).await.unwrap();
    id
}

/// One audit event as the earlier build wrote it: snapshots of the asset,
/// `(before, after, idempotency key)` as available balances.
async fn audit(
    db: &DatabaseConnection,
    (org, asset): (Uuid, Uuid),
    action: &str,
    at: DateTime<Utc>,
    (before, after, key): (Option<&str>, &str, Option<&str>),
) {
    let snap = |available: &str| json!({"id": asset, "available": available, "onHold": "0.00", "future": "0.00", "creditLimit": "0.00"});
    let mut after_json = snap(after);
    if let Some(k) = key {
        after_json["adjustment"] = json!({"available": "1.25", "onHold": "0", "future": "0", "idempotencyKey": k});
    }
    audit_event::Entity::insert(audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        at: Set(at),
        actor: Set("key:ops".into()),
        action: Set(action.into()),
        entity_type: Set("ASSET".into()),
        entity_id: Set(asset),
        account_id: Set(None),
        before: Set(before.map(snap)),
        after: Set(Some(after_json)),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
}

async fn upgrade_keeps_history_honest(backend: Backend) {
    let Some(url) = fresh_database(backend).await else { return };
    let db = Database::connect(url.as_str()).await.unwrap();
    Migrator::up(&db, Some(BEFORE_THE_JOURNAL)).await.unwrap();
    let org = Uuid::now_v7();
    organization::Entity::insert(organization::ActiveModel {
        id: Set(org),
        name: Set("old".into()),
        account_seq: Set(1),
        created_at: Set(t(1, 0)),
    })
    .exec_without_returning(&db)
    .await
    .unwrap();
    let ty = NewAccountType { code: "PERSONAL".into(), name: "Personal".into(), category: None }.check().unwrap();
    let ty_row = rows::account_type(org, &ty, t(1, 0));
    let ty_id = *ty_row.id.as_ref();
    entity::account_type::Entity::insert(ty_row).exec_without_returning(&db).await.unwrap();
    let usd = NewCurrency {
        code: "USD".into(),
        name: "US dollar".into(),
        symbol: "$".into(),
        currency_type: CurrencyType::Fiat,
        decimals: 2,
        networks: vec![],
    };
    let cur_row = rows::currency(org, &usd.check().unwrap(), t(1, 0));
    let cur = *cur_row.id.as_ref();
    entity::currency::Entity::insert(cur_row).exec_without_returning(&db).await.unwrap();
    let mut accounts = Vec::new();
    for uid in [1, 2] {
        let mut row =
            rows::account(org, uid, format!("Old {uid}"), ty_id, AccountKind::Client, AccountStatus::Active, t(7, 9));
        // A column of a later migration than this database's.
        row.wallet_account_id = sea_orm::ActiveValue::NotSet;
        accounts.push(*row.id.as_ref());
        entity::account::Entity::insert(row).exec_without_returning(&db).await.unwrap();
    }

    // Created on 2026-11-07 with 0.00, then three adjustments of +1.25 on
    // 2026-12-01, each in the audit trail.
    let traced = old_asset(&db, org, accounts[0], cur, "3.75").await;
    audit(&db, (org, traced), "asset.added", t(7, 9), (None, "0.00", None)).await;
    for (i, (before, after)) in [("0.00", "1.25"), ("1.25", "2.50"), ("2.50", "3.75")].into_iter().enumerate() {
        let key = format!("k{i}");
        audit(&db, (org, traced), "asset.balance_adjusted", t(31, 10 + i as u32), (Some(before), after, Some(&key)))
            .await;
    }
    // Imported in bulk: no audit trail to rebuild from.
    let untraced = old_asset(&db, org, accounts[1], cur, "10.00").await;

    // Networks as the earlier schema had them (no family), and EVM
    // wallets written in mixed case: one alone, one with a case twin.
    let mut networks = Vec::new();
    for (code, pattern) in [("polygon", None), ("ledger-x", Some("[a-z]{4}")), ("custom", None)] {
        let id = Uuid::now_v7();
        let row = network::ActiveModel {
            id: Set(id),
            organization_id: Set(org),
            code: Set(code.into()),
            name: Set(code.into()),
            address_pattern: Set(pattern.map(str::to_owned)),
            created_at: Set(t(1, 0)),
            address_family: NotSet,
        };
        network::Entity::insert(row).exec_without_returning(&db).await.unwrap();
        networks.push(id);
    }
    let alone = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    let twin = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
    for address in [alone.to_owned(), twin.to_owned(), twin.to_lowercase()] {
        let row = rows::wallet(org, traced, networks[0], address, t(7, 9));
        wallet::Entity::insert(row).exec_without_returning(&db).await.unwrap();
    }

    let now = t(35, 0);
    accounts_gateway::app::upgrade(&db, now).await.unwrap();

    let families: Vec<String> = {
        let mut all = Vec::new();
        for id in &networks {
            all.push(network::Entity::find_by_id(*id).one(&db).await.unwrap().unwrap().address_family);
        }
        all
    };
    assert_eq!(families, ["EVM", "PATTERN", "UNCHECKED"], "existing networks get their family");
    let mut stored: Vec<String> =
        wallet::Entity::find().all(&db).await.unwrap().into_iter().map(|w| w.address).collect();
    stored.sort();
    let mut expected = vec![alone.to_lowercase(), twin.to_owned(), twin.to_lowercase()];
    expected.sort();
    assert_eq!(stored, expected, "EVM addresses lower-cased, except where a case twin exists");

    let at = |asset: Uuid, when: DateTime<Utc>| {
        let db = &db;
        async move {
            journal::latest_at(db, org, &[(asset, when)]).await.map(|m| m.get(&(asset, when)).map(|e| e.available.0))
        }
    };
    assert_eq!(at(traced, t(20, 0)).await.unwrap(), Some(dec("0")), "the balance on 2026-11-20 was 0.00");
    assert_eq!(at(traced, t(31, 10)).await.unwrap(), Some(dec("1.25")));
    assert_eq!(at(traced, now).await.unwrap(), Some(dec("3.75")));
    let page = journal::page(&db, org, traced, &Default::default(), true).await.unwrap();
    assert_eq!(page.total, Some(4), "INITIAL and three adjustments");
    let keys: Vec<_> = page.rows.iter().map(|(_, e)| (e.cause.clone(), e.idempotency_key.clone())).collect();
    assert_eq!(keys[0], ("ADJUSTMENT".to_owned(), Some("k2".to_owned())));
    assert_eq!(keys[3], ("INITIAL".to_owned(), None));

    match at(untraced, t(20, 0)).await {
        Err(AppError::Validation { details, message }) => {
            assert_eq!(details[0].field, "at");
            assert!(message.contains("starts at"), "{message}");
        }
        other => panic!("a balance before the known history must be an error: {other:?}"),
    }
    assert_eq!(at(untraced, now).await.unwrap(), Some(dec("10.00")), "known from the upgrade on");
    let row = asset::Entity::find_by_id(untraced).one(&db).await.unwrap().unwrap();
    assert_eq!(row.history_starts_at, Some(now));
    for (id, held) in [(traced, "3.75"), (untraced, "10.00")] {
        let row = asset::Entity::find_by_id(id).one(&db).await.unwrap().unwrap();
        assert_eq!(row.available.0, dec(held), "every balance kept");
    }

    // A second start changes nothing.
    accounts_gateway::app::upgrade(&db, t(36, 0)).await.unwrap();
    let again = journal::page(&db, org, traced, &Default::default(), true).await.unwrap();
    assert_eq!(again.total, Some(4));
    let row = asset::Entity::find_by_id(untraced).one(&db).await.unwrap().unwrap();
    assert_eq!(row.history_starts_at, Some(now));
}

#[tokio::test]
async fn an_old_sqlite_database_keeps_its_history_honest() {
    upgrade_keeps_history_honest(Backend::Sqlite).await;
}

#[tokio::test]
async fn an_old_postgres_database_keeps_its_history_honest() {
    upgrade_keeps_history_honest(Backend::Postgres).await;
}
