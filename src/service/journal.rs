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
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, Statement, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// What one journal row says of a change besides the balance after it.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// What made the change.
    pub cause: BalanceCause,
    /// The key of the keyed mutation that made it.
    pub idempotency_key: Option<&'a str>,
    /// The transfer it is one leg of.
    pub transfer_id: Option<Uuid>,
    /// Deltas of available, on hold and future.
    pub deltas: [Decimal; 3],
}

/// The journal row recording that `after` (the asset as it now stands)
/// changed as `entry` says at `at`.
pub fn entry_row(
    who: &Principal,
    after: &asset::Model,
    entry: Entry<'_>,
    at: DateTime<Utc>,
) -> balance_entry::ActiveModel {
    balance_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(after.organization_id),
        asset_id: Set(after.id),
        at: Set(at),
        actor: Set(who.subject.clone()),
        cause: Set(entry.cause.as_str().to_owned()),
        idempotency_key: Set(entry.idempotency_key.map(str::to_owned)),
        delta_available: Set(Amount(entry.deltas[0])),
        delta_on_hold: Set(Amount(entry.deltas[1])),
        delta_future: Set(Amount(entry.deltas[2])),
        available: Set(after.available),
        on_hold: Set(after.on_hold),
        future: Set(after.future),
        credit_limit: Set(after.credit_limit),
        transfer_id: Set(entry.transfer_id),
    }
}

/// Records that `after` (the asset as it now stands) changed as `entry`
/// says at `at`.
pub async fn append<C: ConnectionTrait>(
    db: &C,
    who: &Principal,
    after: &asset::Model,
    entry: Entry<'_>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    entry_row(who, after, entry, at).insert(db).await?;
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

/// Assets per statement of [`newest_by_asset`]: each is one branch of a
/// `UNION ALL`, and SQLite allows 500 branches.
const ASSETS_PER_STATEMENT: usize = 400;

/// The newest `limit` journal rows of each of `assets`, newest first: the
/// first journal page of a whole page of assets in one statement (per 400
/// assets). Each asset's branch is one backward walk of the
/// `(asset_id, at, id)` index with its own LIMIT, so its cost does not grow
/// with the asset's history.
pub async fn newest_by_asset<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    assets: &[Uuid],
    limit: u64,
) -> AppResult<HashMap<Uuid, Vec<balance_entry::Model>>> {
    let backend = db.get_database_backend();
    let mark = |i: usize| crate::db::placeholder(backend, i);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out: HashMap<Uuid, Vec<balance_entry::Model>> = HashMap::new();
    for chunk in assets.chunks(ASSETS_PER_STATEMENT) {
        // Placeholders in order of appearance, each once (SQLite's `?`).
        let branches: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "SELECT * FROM (SELECT {COLUMNS} FROM balance_entries WHERE organization_id = {} AND asset_id = {} \
                     ORDER BY at DESC, id DESC LIMIT {}) b{i}",
                    mark(3 * i + 1),
                    mark(3 * i + 2),
                    mark(3 * i + 3)
                )
            })
            .collect();
        let values: Vec<Value> =
            chunk.iter().flat_map(|a| [Value::from(org), Value::from(*a), Value::BigInt(Some(limit))]).collect();
        let sql = Statement::from_sql_and_values(backend, branches.join(" UNION ALL "), values);
        for m in balance_entry::Entity::find().from_raw_sql(sql).all(db).await? {
            out.entry(m.asset_id).or_default().push(m);
        }
    }
    for rows in out.values_mut() {
        rows.sort_by_key(|m| std::cmp::Reverse((m.at, m.id)));
    }
    Ok(out)
}

/// The columns of a journal row, in entity order, for the statements
/// written as SQL here.
const COLUMNS: &str = "id, organization_id, asset_id, at, actor, cause, idempotency_key, delta_available, \
                       delta_on_hold, delta_future, available, on_hold, future, credit_limit, transfer_id";

/// The latest journal row at or before each `(asset, at)` of `org`: the
/// balance as it stood then (an asset absent from the answer did not exist
/// yet). One statement per distinct instant, whatever the number of assets;
/// each asset's row is one backward step of the `(asset_id, at, id)` index
/// (`ORDER BY ... LIMIT 1`), so the cost does not grow with its history.
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
        known_at(db, org, Some(&assets), at).await?;
        // Each placeholder once, in order: SQLite's `?` cannot be reused.
        let list: Vec<String> = (0..assets.len()).map(|i| mark(i + 5)).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM balance_entries WHERE organization_id = {} AND id IN ( \
             SELECT (SELECT x.id FROM balance_entries x WHERE x.organization_id = {} AND x.asset_id = a.id \
             AND x.at <= {} ORDER BY x.at DESC, x.id DESC LIMIT 1) \
             FROM assets a WHERE a.organization_id = {} AND a.id IN ({}))",
            mark(1),
            mark(2),
            mark(3),
            mark(4),
            list.join(", ")
        );
        let mut values: Vec<Value> = vec![org.into(), org.into(), at.into(), org.into()];
        values.extend(assets.iter().map(|a| Value::from(*a)));
        let rows = balance_entry::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|m| ((m.asset_id, at), m)));
    }
    Ok(out)
}

/// VALIDATION_FAILED on `at` when the balance history of one of `assets`
/// (of every asset of `org` when `None`) starts after `at`: its balance
/// then is not known (see `journal_repair`), and a number would be a guess.
pub async fn known_at<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    assets: Option<&[Uuid]>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    use entity::asset::Column as A;
    let mut q = asset::Entity::find().filter(A::OrganizationId.eq(org)).filter(A::HistoryStartsAt.gt(at));
    if let Some(ids) = assets {
        q = q.filter(A::Id.is_in(ids.iter().copied()));
    }
    match q.one(db).await? {
        Some(a) => Err(AppError::invalid(
            "at",
            format!(
                "the balance history of asset {} starts at {}: no balance before it is known",
                a.id,
                a.history_starts_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            ),
        )),
        None => Ok(()),
    }
}

/// Most points one balance chart may have.
pub const MAX_POINTS: i64 = 1_000;

/// One point of a balance chart: the end of a bucket, and the journal row
/// in force then (`None`: the asset did not exist yet).
pub type Point = (DateTime<Utc>, Option<balance_entry::Model>);

/// Each of `assets`' balance at the end of each UTC `interval` bucket that
/// starts in `[from, to)`; the last bucket's point is at `to` when the
/// bucket ends after it, so no point lies after `to` (a window ending on a
/// bucket boundary has no extra bucket). Two statements whatever the number
/// of assets: the history-start check, and one that finds each (asset,
/// point)'s row in force, one backward step of the `(asset_id, at, id)`
/// index each, so the cost follows the number of points, not of rows.
pub async fn histories<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    assets: &[Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: HistoryInterval,
) -> AppResult<HashMap<Uuid, Vec<Point>>> {
    if from > to {
        return Err(AppError::invalid("from", "must not be after `to`"));
    }
    let (secs, off) = (interval.seconds(), interval.offset());
    let start = |b: i64| DateTime::<Utc>::from_timestamp(off + b * secs, 0).unwrap_or_default();
    let (first, last) = interval.buckets(from, to);
    if last < first || assets.is_empty() {
        return Ok(assets.iter().map(|a| (*a, Vec::new())).collect());
    }
    if last - first + 1 > MAX_POINTS {
        return Err(AppError::invalid(
            "interval",
            format!("at most {MAX_POINTS} points: shorten [from, to) or use a longer interval"),
        ));
    }
    known_at(db, org, Some(assets), start(first)).await?;
    let ends: Vec<DateTime<Utc>> = (first..=last).map(|b| start(b + 1).min(to)).collect();
    let backend = db.get_database_backend();
    let mark = |i: usize| crate::db::placeholder(backend, i);
    // Placeholders in order of appearance, each once (SQLite's `?`). VALUES
    // lists, not UNION ALL: SQLite caps compound selects at 500 terms.
    let values_of = |from: usize, n: usize| (from..from + n).map(|i| format!("({})", mark(i))).collect::<Vec<_>>();
    let sql = format!(
        "SELECT {COLUMNS} FROM balance_entries WHERE organization_id = {} AND id IN ( \
         SELECT (SELECT x.id FROM balance_entries x WHERE x.organization_id = {} AND x.asset_id = a.column1 \
         AND x.at < p.column1 ORDER BY x.at DESC, x.id DESC LIMIT 1) FROM (VALUES {}) a CROSS JOIN (VALUES {}) p)",
        mark(1),
        mark(2),
        values_of(3, assets.len()).join(", "),
        values_of(3 + assets.len(), ends.len()).join(", "),
    );
    let mut values: Vec<Value> = vec![org.into(), org.into()];
    values.extend(assets.iter().map(|a| Value::from(*a)));
    values.extend(ends.iter().map(|e| Value::from(*e)));
    let rows = balance_entry::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    let mut by_asset: HashMap<Uuid, Vec<balance_entry::Model>> = HashMap::new();
    for m in rows {
        by_asset.entry(m.asset_id).or_default().push(m);
    }
    Ok(assets.iter().map(|a| (*a, sweep(by_asset.remove(a).unwrap_or_default(), &ends))).collect())
}

/// Each point's row: the newest of `rows` (one asset's) before its end.
fn sweep(mut rows: Vec<balance_entry::Model>, ends: &[DateTime<Utc>]) -> Vec<Point> {
    rows.sort_by_key(|m| (m.at, m.id));
    let mut next = rows.into_iter().peekable();
    let mut carry = None;
    let mut points = Vec::with_capacity(ends.len());
    for end in ends {
        while let Some(m) = next.next_if(|m| m.at < *end) {
            carry = Some(m);
        }
        points.push((*end, carry.clone()));
    }
    points
}
