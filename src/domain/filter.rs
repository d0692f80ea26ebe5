//! Account filters: the contract's `AccountFilter` and its checks.

use crate::domain::{AccountKind, AccountStatus};
use crate::error::{AppError, AppResult};
use async_graphql::{InputObject, Json};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Matches ids exactly or from a list.
#[derive(InputObject, Clone, Debug, Default)]
pub struct IdFilter {
    /// Equal to this id.
    pub eq: Option<Uuid>,
    /// Any of these ids.
    #[graphql(name = "in")]
    pub in_: Option<Vec<Uuid>>,
}

/// Matches strings exactly or from a list.
#[derive(InputObject, Clone, Debug, Default)]
pub struct StringFilter {
    /// Equal to this value.
    pub eq: Option<String>,
    /// Any of these values.
    #[graphql(name = "in")]
    pub in_: Option<Vec<String>>,
}

/// Which accounts to list. Every given condition must hold.
#[derive(InputObject, Clone, Debug, Default)]
pub struct AccountFilter {
    /// Matches an account id, uid, account number, alias, external id or name (prefix, case-insensitive).
    pub search: Option<String>,
    /// By account id.
    pub id: Option<IdFilter>,
    /// By the integrator's reference.
    pub external_id: Option<StringFilter>,
    /// Account type codes.
    #[graphql(name = "type")]
    pub account_type: Option<Vec<String>>,
    /// Any of these statuses.
    pub status: Option<Vec<AccountStatus>>,
    /// Client or system accounts.
    pub kind: Option<AccountKind>,
    /// Owned by this client.
    pub owner_id: Option<Uuid>,
    /// Owned by the client with this email (case-insensitive).
    pub owner_email: Option<String>,
    /// Owned by the client with this external id.
    pub owner_external_id: Option<String>,
    /// Direct sub-accounts of this account.
    pub parent_id: Option<Uuid>,
    /// Only sub-accounts (true) or only top-level accounts (false).
    pub is_sub_account: Option<bool>,
    /// In this project.
    pub project_id: Option<Uuid>,
    /// Accounts holding an asset in any of these currencies.
    pub currency: Option<Vec<String>>,
    /// Accounts owning a wallet with any of these addresses.
    pub address: Option<Vec<String>>,
    /// By account number.
    pub account_number: Option<String>,
    /// Created at or after this time.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before this time.
    pub created_to: Option<DateTime<Utc>>,
    /// Every given key equals the given value.
    pub metadata: Option<Json<serde_json::Value>>,
    /// Include soft-deleted accounts.
    #[graphql(default_with = "Some(false)")]
    pub include_deleted: Option<bool>,
}

/// The most values an `in` list or list filter may carry.
pub const MAX_LIST: usize = 500;

impl AccountFilter {
    /// Checks sizes and shapes before any SQL is built.
    pub fn validate(&self, prefix: &str) -> AppResult<()> {
        let field = |name: &str| format!("{prefix}{name}");
        let lists: [(&str, usize); 6] = [
            ("id.in", self.id.as_ref().and_then(|f| f.in_.as_ref()).map_or(0, Vec::len)),
            ("externalId.in", self.external_id.as_ref().and_then(|f| f.in_.as_ref()).map_or(0, Vec::len)),
            ("type", self.account_type.as_ref().map_or(0, Vec::len)),
            ("status", self.status.as_ref().map_or(0, Vec::len)),
            ("currency", self.currency.as_ref().map_or(0, Vec::len)),
            ("address", self.address.as_ref().map_or(0, Vec::len)),
        ];
        for (name, len) in lists {
            if len > MAX_LIST {
                return Err(AppError::invalid(field(name), format!("at most {MAX_LIST} values")));
            }
        }
        if let (Some(from), Some(to)) = (self.created_from, self.created_to) {
            if from > to {
                return Err(AppError::invalid(field("createdTo"), "must not be before createdFrom"));
            }
        }
        if let Some(Json(meta)) = &self.metadata {
            metadata_pairs(meta).map_err(|m| AppError::invalid(field("metadata"), m))?;
        }
        Ok(())
    }
}

/// A metadata value: the contract allows strings, numbers and booleans.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    /// A string.
    Text(String),
    /// A number, kept as JSON wrote it.
    Number(serde_json::Number),
    /// A boolean.
    Bool(bool),
}

/// Reads a metadata object into key/value pairs, or says what is wrong.
pub fn metadata_pairs(meta: &serde_json::Value) -> Result<Vec<(String, MetaValue)>, String> {
    let obj = meta.as_object().ok_or("metadata must be an object")?;
    obj.iter()
        .map(|(k, v)| {
            if k.is_empty() || k.len() > 100 || k.contains(['"', '\\']) {
                return Err("metadata keys must be 1 to 100 characters, without quotes or backslashes".to_owned());
            }
            let value = match v {
                serde_json::Value::String(s) if s.len() <= 2000 => MetaValue::Text(s.clone()),
                serde_json::Value::Number(n) => MetaValue::Number(n.clone()),
                serde_json::Value::Bool(b) => MetaValue::Bool(*b),
                _ => {
                    return Err(format!(
                        "metadata value of `{k}` must be a string (up to 2000 characters), number or boolean"
                    ))
                }
            };
            Ok((k.clone(), value))
        })
        .collect()
}

/// Which clients to list.
#[derive(InputObject, Clone, Debug, Default)]
pub struct ClientFilter {
    /// Matches a client's id, external id, name or email (prefix, case-insensitive).
    pub search: Option<String>,
    /// Email, case-insensitive.
    pub email: Option<String>,
    /// The integrator's reference.
    pub external_id: Option<String>,
    /// Person or business.
    pub kind: Option<crate::domain::ClientKind>,
}
