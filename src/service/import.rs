//! Bulk onboarding: every row validated; valid rows created and invalid
//! ones reported by index. `atomic` makes it all or nothing.
//! The rules are `account_create`'s, for the whole batch at once.

use crate::auth::Principal;
use crate::domain::commands::NewAccount;
use crate::domain::{BalanceCause, Role};
use crate::error::{AppError, AppResult};
use crate::service::account_create::{create_many_in, Outcomes};
use crate::service::store::Store;
use entity::account;

/// Most rows in one call.
pub const MAX_ROWS: usize = 10_000;

/// One refused row.
#[derive(Clone, Debug)]
pub struct RowError {
    /// The row's position in the input.
    pub index: usize,
    /// The error code.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// The field of the row at fault, when one is (`alias`).
    pub field: Option<String>,
}

/// What an import did.
#[derive(Default)]
pub struct ImportReport {
    /// Accounts created.
    pub created: Vec<account::Model>,
    /// Rows refused.
    pub errors: Vec<RowError>,
}

fn row_error(index: usize, e: &AppError) -> RowError {
    let field = match e {
        AppError::Validation { details, .. }
        | AppError::Conflict { details, .. }
        | AppError::NotFound { details, .. } => details.first().map(|d| d.field.clone()),
        _ => None,
    };
    RowError { index, code: e.code(), message: e.to_string(), field }
}

/// `importAccounts`: every row checked in order (against the database and
/// the rows before it) and the valid ones created in one transaction,
/// written in multi-row inserts. `atomic`: any refused row writes nothing,
/// and every refused row is still reported. Otherwise the valid rows are
/// created and the refused ones reported.
pub async fn import(store: &Store, who: &Principal, rows: Vec<NewAccount>, atomic: bool) -> AppResult<ImportReport> {
    who.require(Role::Operator)?;
    if rows.len() > MAX_ROWS {
        return Err(AppError::invalid("rows", format!("at most {MAX_ROWS} rows per call")));
    }
    let mut report = ImportReport::default();
    // Rows that fail their own checks never reach the batch; the batch's
    // outcomes are matched back to the rows' indexes.
    let mut checked = Vec::with_capacity(rows.len());
    let mut indexes = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        match row.check() {
            Ok(cmd) => {
                checked.push(cmd);
                indexes.push(i);
            }
            Err(e) => report.errors.push(row_error(i, &e)),
        }
    }
    let mut tx = store.begin().await?;
    let outcomes = create_many_in(&mut tx, who, &checked, BalanceCause::Import, atomic).await?;
    collect(&mut report, &indexes, outcomes);
    report.errors.sort_by_key(|e| e.index);
    if atomic && !report.errors.is_empty() {
        // A row refused by its own checks leaves the batch whole: undone here.
        tx.rollback().await?;
        report.created.clear();
    } else {
        tx.commit().await?;
    }
    Ok(report)
}

/// Files each outcome of the batch under its row's index.
fn collect(report: &mut ImportReport, indexes: &[usize], outcomes: Outcomes) {
    for (&i, outcome) in indexes.iter().zip(outcomes) {
        match outcome {
            Ok(m) => report.created.push(m),
            Err(e) => report.errors.push(row_error(i, &e)),
        }
    }
}
