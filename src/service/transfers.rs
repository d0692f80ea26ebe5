//! Reading transfers: by id, and pages filtered by account, asset,
//! currency and commit time, newest first.

use crate::domain::paging::{CursorField, PageArgs, SortValue};
use crate::error::AppResult;
use crate::service::paging::{fetch_page, PageResult, SortSpec};
use chrono::{DateTime, Utc};
use entity::transfer;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, Statement, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// What a list of transfers is narrowed to; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct TransferConditions {
    /// Either side's account.
    pub account_id: Option<Uuid>,
    /// Either side's asset.
    pub asset_id: Option<Uuid>,
    /// The currency's id (the edge resolves the code).
    pub currency_id: Option<Uuid>,
    /// Committed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Committed before.
    pub to: Option<DateTime<Utc>>,
}

impl TransferConditions {
    fn condition(&self, org: Uuid) -> Condition {
        use transfer::Column as T;
        let mut c = Condition::all().add(T::OrganizationId.eq(org));
        if let Some(a) = self.account_id {
            c = c.add(Condition::any().add(T::FromAccountId.eq(a)).add(T::ToAccountId.eq(a)));
        }
        if let Some(a) = self.asset_id {
            c = c.add(Condition::any().add(T::FromAssetId.eq(a)).add(T::ToAssetId.eq(a)));
        }
        if let Some(cur) = self.currency_id {
            c = c.add(T::CurrencyId.eq(cur));
        }
        if let Some(from) = self.from {
            c = c.add(T::At.gte(from));
        }
        if let Some(to) = self.to {
            c = c.add(T::At.lt(to));
        }
        c
    }
}

/// One page of `org`'s transfers matching `filter`, newest first.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    filter: &TransferConditions,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<PageResult<transfer::Model>> {
    use transfer::Column as T;
    let page = args.validate(CursorField::At)?;
    let q = transfer::Entity::find().filter(filter.condition(org));
    let spec = SortSpec { field: CursorField::At, column: T::At, id: T::Id, desc: true };
    fetch_page(db, q, &spec, &page, |m| (SortValue::Time(m.at), m.id), with_total).await
}

/// The newest `limit` transfers in or out of each of `accounts` (of
/// `org`), newest first: one statement for a whole page of accounts,
/// whatever its size. A transfer between two accounts of the page counts
/// for both.
pub async fn newest_by_account<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    accounts: &[Uuid],
    limit: u64,
) -> AppResult<HashMap<Uuid, Vec<transfer::Model>>> {
    let backend = db.get_database_backend();
    let mark = |i: usize| crate::db::placeholder(backend, i);
    let n = accounts.len();
    // Placeholders in order of appearance, each once (SQLite's `?`).
    let list = |from: usize| (from..from + n).map(mark).collect::<Vec<_>>().join(", ");
    let sql = format!(
        "SELECT * FROM (SELECT t.*, k.acct, ROW_NUMBER() OVER (PARTITION BY k.acct ORDER BY t.at DESC, t.id DESC) AS rn \
         FROM (SELECT id AS tid, from_account_id AS acct FROM transfers WHERE organization_id = {} \
         AND from_account_id IN ({}) UNION SELECT id, to_account_id FROM transfers WHERE organization_id = {} \
         AND to_account_id IN ({})) k JOIN transfers t ON t.id = k.tid) w WHERE rn <= {}",
        mark(1),
        list(2),
        mark(n + 2),
        list(n + 3),
        mark(2 * n + 3)
    );
    let ids = accounts.iter().map(|a| Value::from(*a));
    let mut values: Vec<Value> = vec![org.into()];
    values.extend(ids.clone());
    values.push(org.into());
    values.extend(ids);
    values.push(Value::BigInt(Some(limit as i64)));
    let mut out: HashMap<Uuid, Vec<transfer::Model>> = HashMap::new();
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
        let account: Uuid = row.try_get("", "acct")?;
        out.entry(account).or_default().push(transfer::Model::from_query_result(&row, "")?);
    }
    for rows in out.values_mut() {
        rows.sort_by_key(|m| std::cmp::Reverse((m.at, m.id)));
    }
    Ok(out)
}
