//! The contract's filter inputs and their conversion into the domain's
//! conditions ([`crate::domain::filter`]): sizes and shapes are checked
//! here, and errors name the field under the `filter` argument.

use crate::domain::filter::{
    metadata_pairs, AccountCondition, AccountQuery, AuditCondition, ClientCondition, MAX_LIST,
};
use crate::domain::{AccountKind, AccountStatus, ClientKind};
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
    pub kind: Option<ClientKind>,
}

/// Which audit events to list.
#[derive(InputObject, Clone, Debug, Default)]
pub struct AuditFilter {
    /// Events of this entity.
    pub entity_id: Option<Uuid>,
    /// Events of this entity type (ACCOUNT, ASSET, ...).
    pub entity_type: Option<String>,
    /// Events of this action (account.created, ...).
    pub action: Option<String>,
    /// At or after this time.
    pub from: Option<DateTime<Utc>>,
    /// At or before this time.
    pub to: Option<DateTime<Utc>>,
}

/// The values of an `eq` and an `in` of one filter, as conditions.
fn eq_in<T: Clone>(
    eq: &Option<T>,
    list: &Option<Vec<T>>,
    each: impl Fn(Vec<T>) -> AccountCondition,
) -> Vec<AccountCondition> {
    eq.iter().map(|v| each(vec![v.clone()])).chain(list.iter().map(|l| each(l.clone()))).collect()
}

impl AccountFilter {
    /// Checks sizes and shapes; errors name `filter.<field>`.
    fn check(&self) -> AppResult<()> {
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
                return Err(AppError::invalid(format!("filter.{name}"), format!("at most {MAX_LIST} values")));
            }
        }
        if let (Some(from), Some(to)) = (self.created_from, self.created_to) {
            if from > to {
                return Err(AppError::invalid("filter.createdTo", "must not be before createdFrom"));
            }
        }
        if let Some(Json(meta)) = &self.metadata {
            metadata_pairs(meta).map_err(|m| AppError::invalid("filter.metadata", m))?;
        }
        Ok(())
    }

    /// The checked query this filter asks for.
    pub fn query(self) -> AppResult<AccountQuery> {
        use AccountCondition as C;
        self.check()?;
        let mut all = Vec::new();
        if let Some(text) = self.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            all.push(C::Search(text.to_owned()));
        }
        if let Some(f) = &self.id {
            all.extend(eq_in(&f.eq, &f.in_, C::Ids));
        }
        if let Some(f) = &self.external_id {
            all.extend(eq_in(&f.eq, &f.in_, C::ExternalIds));
        }
        all.extend(self.account_type.map(C::Types));
        all.extend(self.status.map(C::Statuses));
        all.extend(self.kind.map(C::Kind));
        all.extend(self.owner_id.map(C::OwnerId));
        all.extend(self.owner_email.map(|e| C::OwnerEmail(e.trim().to_lowercase())));
        all.extend(self.owner_external_id.map(C::OwnerExternalId));
        all.extend(self.parent_id.map(C::ParentId));
        all.extend(self.is_sub_account.map(C::IsSubAccount));
        all.extend(self.project_id.map(C::ProjectId));
        all.extend(self.currency.map(|l| C::Currencies(l.iter().map(|c| c.to_uppercase()).collect())));
        all.extend(self.address.map(C::Addresses));
        all.extend(self.account_number.map(C::AccountNumber));
        all.extend(self.created_from.map(C::CreatedFrom));
        all.extend(self.created_to.map(C::CreatedTo));
        all.extend(self.metadata.map(|m| C::Metadata(m.0)));
        Ok(AccountQuery { include_deleted: self.include_deleted.unwrap_or(false), conditions: all })
    }
}

/// The query of an optional `filter` argument, narrowed by `extra` (the
/// parent or owner a nested list belongs to).
pub fn account_query(filter: Option<AccountFilter>, extra: Option<AccountCondition>) -> AppResult<AccountQuery> {
    let mut q = filter.unwrap_or_default().query()?;
    q.conditions.extend(extra);
    Ok(q)
}

impl ClientFilter {
    /// The conditions this filter asks for.
    pub fn conditions(self) -> Vec<ClientCondition> {
        let search = self.search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        (search.map(ClientCondition::Search).into_iter())
            .chain(self.email.map(|e| ClientCondition::Email(e.trim().to_lowercase())))
            .chain(self.external_id.map(ClientCondition::ExternalId))
            .chain(self.kind.map(ClientCondition::Kind))
            .collect()
    }
}

impl AuditFilter {
    /// The conditions this filter asks for.
    pub fn conditions(self) -> Vec<AuditCondition> {
        (self.entity_id.map(AuditCondition::EntityId).into_iter())
            .chain(self.entity_type.map(|t| AuditCondition::EntityType(t.to_uppercase())))
            .chain(self.action.map(AuditCondition::Action))
            .chain(self.from.map(AuditCondition::From))
            .chain(self.to.map(AuditCondition::To))
            .collect()
    }
}

/// The query of an `AccountFilter` written as JSON (the export's
/// `--filter` and `filter=` parameter); none means every live account.
pub fn account_query_from_json(text: Option<&str>) -> AppResult<AccountQuery> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(AccountQuery::default()) };
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| AppError::invalid("filter", format!("not JSON: {e}")))?;
    let value = async_graphql::Value::from_json(json).map_err(|e| AppError::invalid("filter", e.to_string()))?;
    let filter = <AccountFilter as async_graphql::InputType>::parse(Some(value))
        .map_err(|e| AppError::invalid("filter", e.into_server_error(Default::default()).message))?;
    filter.query()
}
