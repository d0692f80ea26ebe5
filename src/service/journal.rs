//! The balance journal: every committed change of an asset's balance
//! appends one immutable row, in the change's own transaction. The asset
//! row stays the current balance; the journal is its history, read by
//! `Asset.journal`, `balance(at:)` and `balanceHistory`.

use crate::auth::Principal;
use crate::domain::paging::{CursorField, PageArgs, SortValue};
use crate::domain::{BalanceCause, HistoryInterval};
use crate::error::{AppError, AppResult};
use crate::service::paging::{fetch_page, PageResult, SortSpec};
use chrono::{DateTime, Utc};
use entity::amount::Amount;
use entity::{asset, balance_entry};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Set, Statement, Value,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Records that `after` (the asset as it now stands) changed by `deltas`
/// (available, on hold, future) at `at`.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    who: &Principal,
    after: &asset::Model,
    cause: BalanceCause,
    idempotency_key: Option<&str>,
    deltas: [Decimal; 3],
    at: DateTime<Utc>,
) -> AppResult<()> {
    balance_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(after.organization_id),
        asset_id: Set(after.id),
        at: Set(at),
        actor: Set(who.subject.clone()),
        cause: Set(cause.as_str().to_owned()),
        idempotency_key: Set(idempotency_key.map(str::to_owned)),
        delta_available: Set(Amount(deltas[0])),
        delta_on_hold: Set(Amount(deltas[1])),
        delta_future: Set(Amount(deltas[2])),
        available: Set(after.available),
        on_hold: Set(after.on_hold),
        future: Set(after.future),
        credit_limit: Set(after.credit_limit),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// An INITIAL row for every asset that has none (assets written in bulk by
/// the seeder), at the asset's creation, with its balance as it stands.
/// One statement; the asset's own id serves as the row's.
pub async fn backfill<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    let sql = "INSERT INTO balance_entries (id, organization_id, asset_id, at, actor, cause, idempotency_key, \
               delta_available, delta_on_hold, delta_future, available, on_hold, future, credit_limit) \
               SELECT id, organization_id, id, created_at, 'seed', 'INITIAL', NULL, \
               available, on_hold, future, available, on_hold, future, credit_limit FROM assets a \
               WHERE NOT EXISTS (SELECT 1 FROM balance_entries e WHERE e.asset_id = a.id)";
    Ok(db.execute_unprepared(sql).await?.rows_affected())
}

/// One page of `asset`'s journal (of `org`), newest first.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    asset: Uuid,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<PageResult<balance_entry::Model>> {
    use balance_entry::Column as E;
    let page = args.validate(CursorField::At)?;
    let q = balance_entry::Entity::find().filter(E::OrganizationId.eq(org)).filter(E::AssetId.eq(asset));
    let spec = SortSpec { field: CursorField::At, column: E::At, id: E::Id, desc: true };
    fetch_page(db, q, &spec, &page, |m| (SortValue::Time(m.at), m.id), with_total).await
}

/// The latest journal row at or before each `(asset, at)` of `org`: the
/// balance as it stood then (an asset absent from the answer did not exist
/// yet). One statement per distinct instant, whatever the number of assets.
pub async fn latest_at<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    keys: &[(Uuid, DateTime<Utc>)],
) -> AppResult<HashMap<(Uuid, DateTime<Utc>), balance_entry::Model>> {
    let mut by_instant: HashMap<DateTime<Utc>, Vec<Uuid>> = HashMap::new();
    for (asset, at) in keys {
        by_instant.entry(*at).or_default().push(*asset);
    }
    let backend = db.get_database_backend();
    let mark = |i: usize| crate::db::placeholder(backend, i);
    let mut out = HashMap::new();
    for (at, assets) in by_instant {
        let list: Vec<String> = (0..assets.len()).map(|i| mark(i + 3)).collect();
        let sql = format!(
            "SELECT id, organization_id, asset_id, at, actor, cause, idempotency_key, delta_available, \
             delta_on_hold, delta_future, available, on_hold, future, credit_limit FROM ( \
             SELECT e.*, ROW_NUMBER() OVER (PARTITION BY asset_id ORDER BY at DESC, id DESC) AS rn \
             FROM balance_entries e WHERE organization_id = {} AND at <= {} AND asset_id IN ({})) t WHERE rn = 1",
            mark(1),
            mark(2),
            list.join(", ")
        );
        let mut values: Vec<Value> = vec![org.into(), at.into()];
        values.extend(assets.iter().map(|a| Value::from(*a)));
        let rows = balance_entry::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|m| ((m.asset_id, at), m)));
    }
    Ok(out)
}

/// Most points one balance chart may have.
pub const MAX_POINTS: i64 = 1_000;

/// One point of a balance chart: the end of a bucket, and the journal row
/// in force then (`None`: the asset did not exist yet).
pub type Point = (DateTime<Utc>, Option<balance_entry::Model>);

/// `asset`'s balance at the end of each UTC `interval` bucket from the one
/// holding `from` to the one holding `to`. The database picks each bucket's
/// last row (one statement), plus the row in force before the first bucket.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    asset: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: HistoryInterval,
) -> AppResult<Vec<Point>> {
    if from > to {
        return Err(AppError::invalid("from", "must not be after `to`"));
    }
    let (secs, off) = (interval.seconds(), interval.offset());
    let bucket = |t: DateTime<Utc>| (t.timestamp() - off).div_euclid(secs);
    let (first, last) = (bucket(from), bucket(to));
    if last - first + 1 > MAX_POINTS {
        return Err(AppError::invalid(
            "interval",
            format!("at most {MAX_POINTS} points: shorten [from, to] or use a longer interval"),
        ));
    }
    let start = |b: i64| DateTime::<Utc>::from_timestamp(off + b * secs, 0).unwrap_or_default();
    let backend = db.get_database_backend();
    let expr = match backend {
        DbBackend::Postgres => format!("CAST(floor((extract(epoch from at) - {off}) / {secs}) AS BIGINT)"),
        _ => format!("CAST(((CAST(strftime('%s', at) AS INTEGER) - {off}) / {secs}) AS INTEGER)"),
    };
    let marks: Vec<String> = (1..=4).map(|i| crate::db::placeholder(backend, i)).collect();
    let sql = format!(
        "SELECT id, organization_id, asset_id, at, actor, cause, idempotency_key, delta_available, delta_on_hold, \
         delta_future, available, on_hold, future, credit_limit FROM ( \
         SELECT e.*, ROW_NUMBER() OVER (PARTITION BY {expr} ORDER BY at DESC, id DESC) AS rn FROM balance_entries e \
         WHERE organization_id = {} AND asset_id = {} AND at >= {} AND at < {}) t WHERE rn = 1",
        marks[0], marks[1], marks[2], marks[3]
    );
    let values: Vec<Value> = vec![org.into(), asset.into(), start(first).into(), start(last + 1).into()];
    let rows = balance_entry::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    let by_bucket: HashMap<i64, balance_entry::Model> = rows.into_iter().map(|m| (bucket(m.at), m)).collect();
    let before = start(first) - chrono::Duration::microseconds(1);
    let mut carry = latest_at(db, org, &[(asset, before)]).await?.remove(&(asset, before));
    let mut points = Vec::with_capacity((last - first + 1) as usize);
    for b in first..=last {
        if let Some(m) = by_bucket.get(&b) {
            carry = Some(m.clone());
        }
        points.push((start(b + 1), carry.clone()));
    }
    Ok(points)
}
