//! Keyed creates: `createAccount(idempotencyKey)` (and an import row with a
//! key) makes its account once; a retry with the same key and input gets
//! that account back, the same key with another input is CONFLICT.
//!
//! The record is written in the create's own transaction, so it exists
//! exactly when the account does. Callers hold the organization's row lock
//! (the uid sequence) before asking, so two creates with one key queue and
//! the later one finds the first one's record.

use crate::domain::commands::NewAccount;
use crate::error::{AppError, AppResult};
use crate::service::rows;
use crate::service::store::WriteTx;
use entity::{account, idempotency_record};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What the records of keyed creates are filed under.
const SCOPE: &str = "createAccount";

/// The fingerprint of a create: every field of the checked command.
fn request_hash(cmd: &NewAccount) -> String {
    hex::encode(Sha256::digest(format!("{cmd:?}").as_bytes()))
}

/// The account a create with `cmd`'s key already made (as it stands now),
/// CONFLICT when the key was used for another request, `None` for a new
/// key or no key.
pub async fn replayed(tx: &WriteTx, org: Uuid, cmd: &NewAccount) -> AppResult<Option<account::Model>> {
    let Some(key) = &cmd.idempotency_key else { return Ok(None) };
    let prior = idempotency_record::Entity::find()
        .filter(idempotency_record::Column::OrganizationId.eq(org))
        .filter(idempotency_record::Column::Key.eq(key.clone()))
        .one(&**tx)
        .await?;
    let Some(rec) = prior else { return Ok(None) };
    if rec.scope != SCOPE || rec.request_hash != request_hash(cmd) {
        return Err(AppError::conflict("idempotencyKey", "this key was used with another request"));
    }
    let id = rec.response.get("accountId").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok());
    let id = id.ok_or_else(|| AppError::internal("an idempotency record without its account"))?;
    let found = account::Entity::find_by_id(id).filter(account::Column::OrganizationId.eq(org)).one(&**tx).await?;
    found.map(Some).ok_or_else(|| AppError::internal("the account of an idempotency record is gone"))
}

/// Files `created` under `cmd`'s key, when it has one.
pub async fn remember(tx: &WriteTx, org: Uuid, cmd: &NewAccount, created: &account::Model) -> AppResult<()> {
    let Some(key) = &cmd.idempotency_key else { return Ok(()) };
    let response = serde_json::json!({ "accountId": created.id });
    rows::idempotency_record(org, key, SCOPE.to_owned(), request_hash(cmd), response, tx.now())
        .insert(&**tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("key", "idempotencyKey")]))?;
    Ok(())
}
