//! `accountsAggregate`: totals over the accounts a filter matches, grouped
//! by the keys people ask for, summed by the database: exact on PostgreSQL
//! (NUMERIC sums); on SQLite, whose money columns are TEXT (a SUM there
//! would go through floating point), the database groups and concatenates
//! and the sum is made exactly here.

use crate::domain::filter::AccountQuery;
use crate::domain::valuation::{exact_sum, sum_overflow};
use crate::domain::AccountGroupKey;
use crate::error::{AppError, AppResult};
use crate::service::account_filter;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{account, asset, balance_entry};
use rust_decimal::Decimal;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Order, Query, SelectStatement, SimpleExpr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, QueryResult};
use std::collections::BTreeMap;
use std::str::FromStr;
use uuid::Uuid;

/// One group's key values (`None` for keys not grouped by).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct GroupKey {
    /// Account type.
    pub type_id: Option<Uuid>,
    /// Status.
    pub status: Option<String>,
    /// CLIENT or SYSTEM.
    pub kind: Option<String>,
    /// Owner.
    pub owner_id: Option<Uuid>,
    /// Project.
    pub project_id: Option<Uuid>,
    /// Asset currency.
    pub currency_id: Option<Uuid>,
    /// Start of the creation day or month.
    pub created_period: Option<DateTime<Utc>>,
}

/// One group: its accounts and per-currency sums (available, on hold).
#[derive(Clone, Debug, Default)]
pub struct Group {
    /// The key values.
    pub key: GroupKey,
    /// Accounts in the group.
    pub account_count: i64,
    /// Per currency: (available, on hold).
    pub sums: BTreeMap<Uuid, (Decimal, Decimal)>,
}

const ACCOUNTS: &str = "accounts";

fn key_expr(key: AccountGroupKey, backend: DbBackend) -> SimpleExpr {
    let acc = |c: account::Column| Expr::col((Alias::new(ACCOUNTS), c));
    let period = |pg: &str, lite: &str| match backend {
        DbBackend::Postgres => Expr::cust(format!("to_char(\"accounts\".\"created_at\" AT TIME ZONE 'UTC', '{pg}')")),
        _ => Expr::cust(format!("strftime('{lite}', \"accounts\".\"created_at\")")),
    };
    match key {
        AccountGroupKey::Type => acc(account::Column::TypeId),
        AccountGroupKey::Status => acc(account::Column::Status),
        AccountGroupKey::Kind => acc(account::Column::Kind),
        AccountGroupKey::Owner => acc(account::Column::OwnerId),
        AccountGroupKey::Project => acc(account::Column::ProjectId),
        AccountGroupKey::Currency => Expr::col((Alias::new("s"), asset::Column::CurrencyId)),
        AccountGroupKey::CreatedDay => period("YYYY-MM-DD", "%Y-%m-%d"),
        AccountGroupKey::CreatedMonth => period("YYYY-MM", "%Y-%m"),
    }
}

fn read_key(row: &QueryResult, keys: &[AccountGroupKey]) -> AppResult<GroupKey> {
    let mut k = GroupKey::default();
    for (i, key) in keys.iter().enumerate() {
        let col = format!("k{i}");
        match key {
            AccountGroupKey::Type => k.type_id = row.try_get("", &col)?,
            AccountGroupKey::Status => k.status = row.try_get("", &col)?,
            AccountGroupKey::Kind => k.kind = row.try_get("", &col)?,
            AccountGroupKey::Owner => k.owner_id = row.try_get("", &col)?,
            AccountGroupKey::Project => k.project_id = row.try_get("", &col)?,
            AccountGroupKey::Currency => k.currency_id = row.try_get("", &col)?,
            AccountGroupKey::CreatedDay | AccountGroupKey::CreatedMonth => {
                let text: Option<String> = row.try_get("", &col)?;
                let day = text.map(|t| if t.len() == 7 { format!("{t}-01") } else { t });
                k.created_period = day
                    .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc());
            }
        }
    }
    Ok(k)
}

/// The base select: matching accounts (created by `at`, when given), the
/// key columns, grouped by them.
fn grouped(
    org: Uuid,
    filter: &AccountQuery,
    keys: &[AccountGroupKey],
    at: Option<DateTime<Utc>>,
    backend: DbBackend,
) -> AppResult<SelectStatement> {
    let mut cond = account_filter::condition(org, filter, backend)?;
    if let Some(at) = at {
        cond = cond.add(account::Column::CreatedAt.lte(at));
    }
    let mut q = Query::select();
    q.from(Alias::new(ACCOUNTS)).cond_where(cond);
    let exprs: Vec<SimpleExpr> = keys.iter().map(|k| key_expr(*k, backend)).collect();
    for (i, e) in exprs.iter().enumerate() {
        q.expr_as(e.clone(), Alias::new(format!("k{i}")));
    }
    q.add_group_by(exprs);
    Ok(q)
}

/// A money column summed exactly: NUMERIC SUM on PostgreSQL, the values
/// concatenated on SQLite (summed by [`exact`]).
fn sum(col: &str, backend: DbBackend) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust(format!("SUM({col})")),
        _ => Expr::cust(format!("group_concat({col}, ',')")),
    }
}

fn exact(row: &QueryResult, col: &str, backend: DbBackend) -> AppResult<Decimal> {
    if backend == DbBackend::Postgres {
        return Ok(row.try_get::<Option<Decimal>>("", col)?.unwrap_or_default());
    }
    let text: Option<String> = row.try_get("", col)?;
    let parts = text.unwrap_or_default();
    // An amount that does not parse is a corrupt row: an error, never skipped.
    let values = parts
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| Decimal::from_str(p).map_err(|e| AppError::internal(format!("a stored amount {p:?}: {e}"))))
        .collect::<AppResult<Vec<Decimal>>>()?;
    exact_sum(values).ok_or_else(|| sum_overflow("the group's sum"))
}

/// The id of the journal row in force at `at` for the asset `s.id` (of
/// `org`): one backward step of the `(asset_id, at, id)` index per asset,
/// however long its history (a window ranking every earlier row grew with
/// it).
fn entry_in_force(org: Uuid, at: DateTime<Utc>, s: &Alias) -> SelectStatement {
    use balance_entry::Column as E;
    let x = Alias::new("x");
    Query::select()
        .column((x.clone(), E::Id))
        .from_as(balance_entry::Entity, x.clone())
        .and_where(Expr::col((x.clone(), E::OrganizationId)).eq(org))
        .and_where(Expr::col((x.clone(), E::AssetId)).equals((s.clone(), asset::Column::Id)))
        .and_where(Expr::col((x.clone(), E::At)).lte(at))
        .order_by((x.clone(), E::At), Order::Desc)
        .order_by((x, E::Id), Order::Desc)
        .limit(1)
        .to_owned()
}

/// The groups of `org`'s accounts matching `filter`, by `keys`, with
/// balances now or as they stood at `at`. Two statements: the account
/// counts, and the per-currency sums (one when CURRENCY is a key).
pub async fn groups<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    filter: &AccountQuery,
    keys: &[AccountGroupKey],
    at: Option<DateTime<Utc>>,
) -> AppResult<Vec<Group>> {
    if let Some(at) = at {
        crate::service::journal::known_at(db, org, None, at).await?;
    }
    let backend = db.get_database_backend();
    let by_currency = keys.contains(&AccountGroupKey::Currency);
    let mut out: BTreeMap<GroupKey, Group> = BTreeMap::new();
    if !by_currency {
        let mut counts = grouped(org, filter, keys, at, backend)?;
        counts.expr_as(Expr::cust("COUNT(*)"), Alias::new("n"));
        for row in db.query_all_raw(backend.build(&counts)).await? {
            let key = read_key(&row, keys)?;
            out.insert(key.clone(), Group { key, account_count: row.try_get("", "n")?, sums: BTreeMap::new() });
        }
    }
    let mut sums = grouped(org, filter, keys, at, backend)?;
    let (s, j) = (Alias::new("s"), Alias::new("j"));
    let join = if by_currency { JoinType::LeftJoin } else { JoinType::InnerJoin };
    sums.join_as(
        join,
        asset::Entity,
        s.clone(),
        Expr::col((s.clone(), asset::Column::AccountId)).equals((Alias::new(ACCOUNTS), account::Column::Id)),
    );
    let source = match at {
        None => "\"s\"",
        Some(at) => {
            // `=` a scalar subquery: evaluated once per asset (an `IN` here
            // is evaluated for every candidate row of the join).
            let in_force = Expr::SubQuery(None, Box::new(entry_in_force(org, at, &s).into()));
            let on = Expr::col((j.clone(), balance_entry::Column::Id)).eq(in_force);
            sums.join_as(JoinType::LeftJoin, balance_entry::Entity, j.clone(), on);
            "\"j\""
        }
    };
    sums.expr_as(Expr::col((s.clone(), asset::Column::CurrencyId)), Alias::new("cur"))
        .expr_as(Expr::cust("COUNT(DISTINCT \"accounts\".\"id\")"), Alias::new("n"))
        .expr_as(sum(&format!("{source}.\"available\""), backend), Alias::new("available"))
        .expr_as(sum(&format!("{source}.\"on_hold\""), backend), Alias::new("on_hold"));
    if !by_currency {
        sums.add_group_by([Expr::col((s.clone(), asset::Column::CurrencyId))]);
    }
    for row in db.query_all_raw(backend.build(&sums)).await? {
        let key = read_key(&row, keys)?;
        let currency: Option<Uuid> = row.try_get("", "cur")?;
        let (available, on_hold) = (exact(&row, "available", backend)?, exact(&row, "on_hold", backend)?);
        let group = out.entry(key.clone()).or_insert_with(|| Group { key, ..Default::default() });
        if by_currency {
            group.account_count = row.try_get("", "n")?;
        }
        if let Some(c) = currency {
            group.sums.insert(c, (available, on_hold));
        }
    }
    Ok(out.into_values().collect())
}
