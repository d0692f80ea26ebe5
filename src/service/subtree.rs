//! The balances of every descendant of a set of accounts, in one recursive
//! statement (sub-accounts nest at most five levels).

use crate::error::AppResult;
use entity::Amount;
use sea_orm::{ConnectionTrait, Statement, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// One descendant account and one of its assets (if any).
#[derive(Clone, Debug)]
pub struct SubtreeRow {
    /// The descendant account.
    pub account_id: Uuid,
    /// The asset, `None` for an account without assets.
    pub asset_id: Option<Uuid>,
    /// The asset's currency, `None` for an account without assets.
    pub currency_id: Option<Uuid>,
    /// Available.
    pub available: Amount,
    /// On hold.
    pub on_hold: Amount,
}

/// For each root, the live descendants and their assets.
pub async fn rows<C: ConnectionTrait>(db: &C, org: Uuid, roots: &[Uuid]) -> AppResult<HashMap<Uuid, Vec<SubtreeRow>>> {
    let mut out: HashMap<Uuid, Vec<SubtreeRow>> = roots.iter().map(|r| (*r, Vec::new())).collect();
    if roots.is_empty() {
        return Ok(out);
    }
    let backend = db.get_database_backend();
    let mark = |i: usize| crate::db::placeholder(backend, i);
    let list: Vec<String> = (0..roots.len()).map(|i| mark(i + 2)).collect();
    let sql = format!(
        "WITH RECURSIVE tree(root, id) AS (\
           SELECT parent_id, id FROM accounts WHERE organization_id = {org} AND deleted_at IS NULL AND parent_id IN ({list}) \
           UNION ALL \
           SELECT tree.root, a.id FROM accounts a JOIN tree ON a.parent_id = tree.id WHERE a.deleted_at IS NULL) \
         SELECT tree.root AS root, tree.id AS id, s.id AS asset_id, s.currency_id AS currency_id, s.available AS available, s.on_hold AS on_hold \
         FROM tree LEFT JOIN assets s ON s.account_id = tree.id",
        org = mark(1),
        list = list.join(", ")
    );
    let mut values: Vec<Value> = vec![org.into()];
    values.extend(roots.iter().map(|r| Value::from(*r)));
    for row in db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
        let root: Uuid = row.try_get("", "root")?;
        let currency_id: Option<Uuid> = row.try_get("", "currency_id")?;
        let amount = |col: &str| -> AppResult<Amount> {
            Ok(if currency_id.is_some() { row.try_get::<Amount>("", col)? } else { Amount::default() })
        };
        let r = SubtreeRow {
            account_id: row.try_get("", "id")?,
            asset_id: row.try_get("", "asset_id")?,
            currency_id,
            available: amount("available")?,
            on_hold: amount("on_hold")?,
        };
        out.entry(root).or_default().push(r);
    }
    Ok(out)
}
