//! `accountsAggregate`: groups of accounts with their per-currency sums
//! and a USD total. Keys resolve through the loaders; every group's quotes
//! come in one batch.

use crate::domain::filter::AccountQuery;
use crate::domain::money::Dec;
use crate::domain::valuation::{cents, exact_add, sum_overflow, usd_value};
use crate::domain::{AccountGroupKey, AccountKind, AccountStatus};
use crate::error::ToGql;
use crate::graphql::assets::at_scale;
use crate::graphql::catalog::{AccountType, Currency, Project};
use crate::graphql::clients::Client;
use crate::graphql::valuation::{quotes_for, CurrencyBalance};
use crate::graphql::{load_err, req};
use crate::pricing::QuoteView;
use crate::service::aggregate::{self, Group};
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::currency;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// Currencies and quotes shared by every group of one answer.
struct Shared {
    currencies: HashMap<Uuid, currency::Model>,
    quotes: HashMap<String, QuoteView>,
}

/// One group of accounts.
pub struct AccountGroup {
    group: Group,
    shared: Arc<Shared>,
}

impl AccountGroup {
    /// Per currency (by code): currency, available, on hold, total.
    fn rows(&self) -> Result<Vec<(currency::Model, Decimal, Decimal, Decimal)>> {
        let mut rows = Vec::with_capacity(self.group.sums.len());
        for (id, (available, on_hold)) in &self.group.sums {
            let Some(c) = self.shared.currencies.get(id) else { continue };
            let total = exact_add(*available, *on_hold).ok_or_else(|| sum_overflow("the total")).gql()?;
            rows.push((c.clone(), *available, *on_hold, total));
        }
        rows.sort_by(|a, b| a.0.code.cmp(&b.0.code));
        Ok(rows)
    }
}

#[Object]
impl AccountGroup {
    /// The account type, when grouped by TYPE.
    #[graphql(name = "type")]
    async fn account_type(&self, ctx: &Context<'_>) -> Result<Option<AccountType>> {
        let Some(id) = self.group.key.type_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.account_types.load_one(id).await.map_err(load_err)?.map(AccountType))
    }
    /// The status, when grouped by STATUS.
    async fn status(&self) -> Result<Option<AccountStatus>> {
        self.group.key.status.as_deref().map(AccountStatus::parse).transpose().gql()
    }
    /// The kind, when grouped by KIND.
    async fn kind(&self) -> Result<Option<AccountKind>> {
        self.group.key.kind.as_deref().map(AccountKind::parse).transpose().gql()
    }
    /// The owner, when grouped by OWNER (null for system accounts).
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Client>> {
        let Some(id) = self.group.key.owner_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.clients.load_one(id).await.map_err(load_err)?.map(Client))
    }
    /// The project, when grouped by PROJECT.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let Some(id) = self.group.key.project_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.projects.load_one(id).await.map_err(load_err)?.map(Project))
    }
    /// The currency, when grouped by CURRENCY (null for accounts without assets).
    async fn currency(&self) -> Option<Currency> {
        self.group.key.currency_id.and_then(|id| self.shared.currencies.get(&id).cloned()).map(Currency)
    }
    /// Start (UTC) of the day or month, for CREATED_DAY / CREATED_MONTH.
    async fn created_period(&self) -> Option<DateTime<Utc>> {
        self.group.key.created_period
    }
    /// Accounts in the group.
    async fn account_count(&self) -> i32 {
        i32::try_from(self.group.account_count).unwrap_or(i32::MAX)
    }
    /// Per-currency sums over the group's assets (with CURRENCY grouped: that currency only).
    async fn by_currency(&self) -> Result<Vec<CurrencyBalance>> {
        Ok(self
            .rows()?
            .into_iter()
            .map(|(c, available, on_hold, total)| {
                let s = c.decimals;
                CurrencyBalance {
                    total: at_scale(total, s),
                    available: at_scale(available, s),
                    on_hold: at_scale(on_hold, s),
                    currency: Currency(c),
                }
            })
            .collect())
    }
    /// Sum over currencies of the rounded USD value of each total.
    async fn usd_total(&self) -> Result<Dec> {
        let mut usd = Decimal::ZERO;
        for (c, _, _, total) in self.rows()? {
            if let Some(q) = self.shared.quotes.get(&c.code) {
                let v = usd_value(total, q.quote.rate).ok_or_else(|| sum_overflow("the USD value")).gql()?;
                usd = exact_add(usd, v).ok_or_else(|| sum_overflow("the USD total")).gql()?;
            }
        }
        Ok(Dec(cents(usd)))
    }
    /// False when any currency had no quote.
    async fn complete(&self) -> Result<bool> {
        Ok(self.rows()?.iter().all(|(c, ..)| self.shared.quotes.contains_key(&c.code)))
    }
}

/// The groups of the caller's accounts matching `filter`, by `keys`.
pub async fn groups(
    ctx: &Context<'_>,
    filter: &AccountQuery,
    keys: &[AccountGroupKey],
    at: Option<DateTime<Utc>>,
) -> Result<Vec<AccountGroup>> {
    let r = req(ctx)?;
    let mut unique = keys.to_vec();
    unique.sort_by_key(|k| k.as_str());
    unique.dedup();
    let groups = aggregate::groups(r.db, r.principal.organization_id, filter, &unique, at).await.gql()?;
    let ids: Vec<Uuid> = groups.iter().flat_map(|g| g.sums.keys().copied().chain(g.key.currency_id)).collect();
    let currencies = r.loaders.currencies.load_many(ids).await.map_err(load_err)?;
    let codes: Vec<String> = currencies.values().map(|c| c.code.clone()).collect();
    let quotes = quotes_for(ctx, codes, at).await?;
    let shared = Arc::new(Shared { currencies, quotes });
    Ok(groups.into_iter().map(|group| AccountGroup { group, shared: shared.clone() }).collect())
}
