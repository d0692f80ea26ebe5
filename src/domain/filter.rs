//! What a list of accounts, clients or audit events is narrowed by: plain
//! conditions, every one of which must hold. The GraphQL layer turns its
//! filter inputs into these (checking sizes and shapes on the way).

use crate::domain::{AccountKind, AccountStatus, ClientKind};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The most values an `in` list or list filter may carry.
pub const MAX_LIST: usize = 500;

/// Which accounts to list.
#[derive(Clone, Debug, Default)]
pub struct AccountQuery {
    /// Include soft-deleted accounts.
    pub include_deleted: bool,
    /// Conditions that must all hold.
    pub conditions: Vec<AccountCondition>,
}

/// One condition on accounts.
#[derive(Clone, Debug, PartialEq)]
pub enum AccountCondition {
    /// An id, uid, account number, alias, external id or name (prefix,
    /// case-insensitive) matches this text.
    Search(String),
    /// The id is one of these.
    Ids(Vec<Uuid>),
    /// The external id is one of these.
    ExternalIds(Vec<String>),
    /// The account type's code is one of these.
    Types(Vec<String>),
    /// The status is one of these.
    Statuses(Vec<AccountStatus>),
    /// Client or system.
    Kind(AccountKind),
    /// Owned by this client.
    OwnerId(Uuid),
    /// Owned by the client with this email (case-insensitive).
    OwnerEmail(String),
    /// Owned by the client with this external id.
    OwnerExternalId(String),
    /// A direct sub-account of this account.
    ParentId(Uuid),
    /// A sub-account (true) or a top-level account (false).
    IsSubAccount(bool),
    /// In this project.
    ProjectId(Uuid),
    /// Holds an asset in one of these currencies.
    Currencies(Vec<String>),
    /// Owns a wallet with one of these addresses.
    Addresses(Vec<String>),
    /// Has this account number.
    AccountNumber(String),
    /// Created at or after.
    CreatedFrom(DateTime<Utc>),
    /// Created at or before.
    CreatedTo(DateTime<Utc>),
    /// Every key of this (checked) metadata object equals its value.
    Metadata(serde_json::Value),
}

/// One condition on clients.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientCondition {
    /// The id, external id, name or email matches (prefix, case-insensitive).
    Search(String),
    /// Email, case-insensitive.
    Email(String),
    /// The integrator's reference.
    ExternalId(String),
    /// Person or business.
    Kind(ClientKind),
}

/// One condition on audit events.
#[derive(Clone, Debug, PartialEq)]
pub enum AuditCondition {
    /// Events of this entity.
    EntityId(Uuid),
    /// Events of this entity type (ACCOUNT, ASSET, ...; any case).
    EntityType(String),
    /// Events of this action (account.created, ...).
    Action(String),
    /// At or after this time.
    From(DateTime<Utc>),
    /// At or before this time.
    To(DateTime<Utc>),
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
