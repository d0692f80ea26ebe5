//! Keyed creates: `createAccount(idempotencyKey)` (and an import row with a
//! key) makes its account once; a retry with the same key and input gets
//! that account back, the same key with another input is CONFLICT.
//!
//! The record is written in the create's own transaction, so it exists
//! exactly when the account does. Callers hold the organization's row lock
//! (the uid sequence) before reading records, so two creates with one key
//! queue and the later one finds the first one's record.

use crate::domain::commands::NewAccount;
use crate::error::{AppError, AppResult};
use crate::service::rows;
use chrono::{DateTime, Utc};
use entity::idempotency_record;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What the records of keyed creates are filed under.
const SCOPE: &str = "createAccount";

/// The fingerprint of a create: every field of the checked command.
fn request_hash(cmd: &NewAccount) -> String {
    hex::encode(Sha256::digest(format!("{cmd:?}").as_bytes()))
}

/// The records of keyed creates filed under `keys` in `org`.
pub async fn records<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    keys: Vec<String>,
) -> AppResult<Vec<idempotency_record::Model>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(idempotency_record::Entity::find()
        .filter(idempotency_record::Column::OrganizationId.eq(org))
        .filter(idempotency_record::Column::Key.is_in(keys))
        .all(db)
        .await?)
}

/// The account a create's earlier record (filed under `cmd`'s key) made;
/// CONFLICT when the key was used for another request.
pub fn answered(rec: &idempotency_record::Model, cmd: &NewAccount) -> AppResult<Uuid> {
    if rec.scope != SCOPE || rec.request_hash != request_hash(cmd) {
        return Err(conflicting());
    }
    let id = rec.response.get("accountId").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
    id.ok_or_else(|| AppError::internal("an idempotency record without its account"))
}

/// A key used with another request.
pub fn conflicting() -> AppError {
    AppError::conflict("idempotencyKey", "this key was used with another request")
}

/// Whether two commands are the same request (so one key may name both).
pub fn same_request(a: &NewAccount, b: &NewAccount) -> bool {
    request_hash(a) == request_hash(b)
}

/// The record filing the account `created` under `cmd`'s key, when it has one.
pub fn record_row(
    org: Uuid,
    cmd: &NewAccount,
    created: Uuid,
    at: DateTime<Utc>,
) -> Option<idempotency_record::ActiveModel> {
    let key = cmd.idempotency_key.as_deref()?;
    let response = serde_json::json!({ "accountId": created });
    Some(rows::idempotency_record(org, key, SCOPE.to_owned(), request_hash(cmd), response, at))
}
