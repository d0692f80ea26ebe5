//! Bulk onboarding: every row validated; valid rows created and invalid
//! ones reported by index. `atomic` makes it all or nothing.

use crate::auth::Principal;
use crate::domain::commands::NewAccount;
use crate::domain::{BalanceCause, Role};
use crate::error::{AppError, AppResult};
use crate::service::account_write::create_in;
use crate::service::store::{Store, WriteTx};
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

/// Checks and creates one row inside `tx`.
async fn create_row(tx: &mut WriteTx, who: &Principal, row: NewAccount) -> AppResult<account::Model> {
    create_in(tx, who, &row.check()?, BalanceCause::Import).await
}

/// `importAccounts`. Non-atomic: each row commits on its own. Atomic: one
/// transaction, each row in a savepoint so every bad row is still reported;
/// any error rolls everything back.
pub async fn import(store: &Store, who: &Principal, rows: Vec<NewAccount>, atomic: bool) -> AppResult<ImportReport> {
    who.require(Role::Operator)?;
    if rows.len() > MAX_ROWS {
        return Err(AppError::invalid("rows", format!("at most {MAX_ROWS} rows per call")));
    }
    let mut report = ImportReport::default();
    if atomic {
        let mut tx = store.begin().await?;
        for (i, row) in rows.into_iter().enumerate() {
            let mut sp = tx.savepoint().await?;
            match create_row(&mut sp, who, row).await {
                Ok(m) => {
                    sp.release(&mut tx).await?;
                    report.created.push(m);
                }
                Err(e) => {
                    sp.rollback().await?;
                    report.errors.push(row_error(i, &e));
                }
            }
        }
        if report.errors.is_empty() {
            tx.commit().await?;
        } else {
            tx.rollback().await?;
            report.created.clear();
        }
        return Ok(report);
    }
    for (i, row) in rows.into_iter().enumerate() {
        let mut tx = store.begin().await?;
        match create_row(&mut tx, who, row).await {
            Ok(m) => {
                tx.commit().await?;
                report.created.push(m);
            }
            Err(e) => report.errors.push(row_error(i, &e)),
        }
    }
    Ok(report)
}
