//! Reading the quote history: the quote in force at an instant, and the
//! quotes of a period.

use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use entity::quote_history;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement, Value};
use std::collections::HashMap;

/// Most quotes one `quoteHistory` answers.
pub const MAX_POINTS: u64 = 1_000;

/// The latest quote at or before each `(currency, at)`; absent when there
/// was none yet. One statement per distinct instant.
pub async fn latest_at<C: ConnectionTrait>(
    db: &C,
    keys: &[(String, DateTime<Utc>)],
) -> AppResult<HashMap<(String, DateTime<Utc>), quote_history::Model>> {
    let mut by_instant: HashMap<DateTime<Utc>, Vec<String>> = HashMap::new();
    for (code, at) in keys {
        by_instant.entry(*at).or_default().push(code.clone());
    }
    let backend = db.get_database_backend();
    let mark = |i: usize| crate::db::placeholder(backend, i);
    let mut out = HashMap::new();
    for (at, codes) in by_instant {
        // Driven by the codes: each one's quote is one backward step of the
        // (currency, at) key (MAX), however long its history. Placeholders
        // in order of appearance, each once (SQLite's `?`).
        let list: Vec<String> = (0..codes.len()).map(|i| format!("SELECT {} AS code", mark(i + 1))).collect();
        let sql = format!(
            "SELECT q.currency, q.at, q.rate, q.source FROM ({}) c JOIN quote_history q ON q.currency = c.code \
             AND q.at = (SELECT MAX(x.at) FROM quote_history x WHERE x.currency = c.code AND x.at <= {})",
            list.join(" UNION ALL "),
            mark(codes.len() + 1)
        );
        let mut values: Vec<Value> = codes.iter().map(|c| Value::from(c.clone())).collect();
        values.push(at.into());
        let rows = quote_history::Entity::find()
            .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|m| ((m.currency.clone(), at), m)));
    }
    Ok(out)
}

/// The quotes of `code` taken in `[from, to]`, oldest first; more than
/// [`MAX_POINTS`] is LIMIT_EXCEEDED (ask for a shorter period).
pub async fn between<C: ConnectionTrait>(
    db: &C,
    code: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<quote_history::Model>> {
    if from > to {
        return Err(AppError::invalid("from", "must not be after `to`"));
    }
    let rows = quote_history::Entity::find()
        .filter(quote_history::Column::Currency.eq(code))
        .filter(quote_history::Column::At.gte(from))
        .filter(quote_history::Column::At.lte(to))
        .order_by_asc(quote_history::Column::At)
        .limit(MAX_POINTS + 1)
        .all(db)
        .await?;
    if rows.len() as u64 > MAX_POINTS {
        return Err(AppError::LimitExceeded(format!(
            "more than {MAX_POINTS} quotes in this period; ask for a shorter one"
        )));
    }
    Ok(rows)
}
