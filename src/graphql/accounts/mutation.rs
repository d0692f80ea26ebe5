//! Account mutations. Each turns its input into a checked command, hands
//! it to the service and returns the account as committed.

use super::Account;
use crate::domain::commands::{AccountChanges, NewAccount};
use crate::domain::{AccountStatus, SystemRole};
use crate::error::ToGql;
use crate::graphql::inputs::{input_error, reason_command, CreateAccountInput, StatusReasonInput, UpdateAccountInput};
use crate::graphql::req;
use crate::service::{account_create, account_write, import};
use async_graphql::{Context, Object, Result, SimpleObject};
use uuid::Uuid;

/// Account mutations.
#[derive(Default)]
pub struct AccountMutation;

/// One refused import row.
#[derive(SimpleObject)]
pub struct ImportRowError {
    /// The row's position in `rows`.
    pub index: i32,
    /// The error code.
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// The input field at fault (`rows.3.alias`).
    pub field: Option<String>,
}

/// What `importAccounts` did.
#[derive(SimpleObject)]
pub struct ImportResult {
    /// Accounts created.
    pub created: i32,
    /// Rows refused.
    pub failed: i32,
    /// The created accounts.
    pub accounts: Vec<Account>,
    /// Why each refused row was refused.
    pub errors: Vec<ImportRowError>,
}

#[Object]
impl AccountMutation {
    /// Creates a client account (PENDING unless asked), with optional assets.
    async fn create_account(&self, ctx: &Context<'_>, input: CreateAccountInput) -> Result<Account> {
        let r = req(ctx)?;
        let cmd = NewAccount::from(input).check().map_err(input_error(&[])).gql()?;
        Ok(Account(account_create::create(r.store, r.principal, cmd).await.map_err(input_error(&[])).gql()?))
    }

    /// Changes the editable fields; the owner never changes. A mismatching
    /// `expectedVersion` is CONFLICT.
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        input: UpdateAccountInput,
        expected_version: Option<i32>,
    ) -> Result<Account> {
        let r = req(ctx)?;
        let own = input_error(&["id", "expectedVersion"]);
        let ch = AccountChanges::from(input).check().map_err(&own).gql()?;
        Ok(Account(account_write::update(r.store, r.principal, id, &ch, expected_version).await.map_err(own).gql()?))
    }

    /// Moves the account through its status machine; a refused transition
    /// is NOT_ALLOWED naming both states.
    async fn set_account_status(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        status: AccountStatus,
        reason: Option<StatusReasonInput>,
        expected_version: Option<i32>,
    ) -> Result<Account> {
        let r = req(ctx)?;
        let reason = reason_command(reason).gql()?;
        let m = account_write::set_status(r.store, r.principal, id, status, &reason, expected_version).await.gql()?;
        Ok(Account(m))
    }

    /// Soft delete, as seed 001 does: status DELETED and deletedAt set; rows
    /// are kept. NOT_ALLOWED while an asset holds a non-zero balance or a
    /// sub-account lives, and always when the server runs with
    /// FORBID_ACCOUNT_DELETION (as seed 004, which refuses every delete).
    async fn delete_account(&self, ctx: &Context<'_>, id: Uuid) -> Result<Account> {
        let r = req(ctx)?;
        Ok(Account(account_write::delete(r.store, r.principal, id).await.gql()?))
    }

    /// Get or create the organization's system account of this role (and currency, where given). Idempotent under concurrency.
    async fn system_account(&self, ctx: &Context<'_>, role: SystemRole, currency: Option<String>) -> Result<Account> {
        let r = req(ctx)?;
        Ok(Account(account_write::system_account(r.store, r.principal, role, currency.as_deref()).await.gql()?))
    }

    /// Bulk onboarding: every row is validated; valid rows are created, and each invalid row is reported by index with its errors.
    async fn import_accounts(
        &self,
        ctx: &Context<'_>,
        rows: Vec<CreateAccountInput>,
        #[graphql(default_with = "Some(false)")] atomic: Option<bool>,
    ) -> Result<ImportResult> {
        let r = req(ctx)?;
        let rows = rows.into_iter().map(NewAccount::from).collect();
        let report = import::import(r.store, r.principal, rows, atomic.unwrap_or(false)).await.gql()?;
        Ok(ImportResult {
            created: report.created.len() as i32,
            failed: report.errors.len() as i32,
            accounts: report.created.into_iter().map(Account).collect(),
            errors: report
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    index: e.index as i32,
                    code: e.code.to_owned(),
                    message: e.message,
                    field: e.field.map(|f| format!("rows.{}.{f}", e.index)),
                })
                .collect(),
        })
    }
}
