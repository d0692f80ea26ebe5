//! The organization's configuration: account types, currencies, networks,
//! projects.

use crate::domain::{AddressFamily, CurrencyType};
use crate::error::ToGql;
use crate::graphql::{load_err, req};
use crate::service::catalog;
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::{account_type, currency, network, project};
use uuid::Uuid;

/// A kind of account (PERSONAL, BUSINESS, SAVINGS, ...).
pub struct AccountType(pub account_type::Model);

#[Object]
impl AccountType {
    /// Code, such as PERSONAL or STABLECOINS.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// FIAT or CRYPTO where the type is bound to one.
    async fn category(&self) -> Result<Option<CurrencyType>> {
        self.0.category.as_deref().map(CurrencyType::parse).transpose().gql()
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A fiat currency or crypto asset.
pub struct Currency(pub currency::Model);

#[Object]
impl Currency {
    /// ISO 4217 for fiat, ticker for crypto.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Symbol such as $ or ₿.
    async fn symbol(&self) -> &str {
        &self.0.symbol
    }
    /// FIAT or CRYPTO.
    #[graphql(name = "type")]
    async fn currency_type(&self) -> Result<CurrencyType> {
        CurrencyType::parse(&self.0.currency_type).gql()
    }
    /// Decimal places amounts keep.
    async fn decimals(&self) -> i32 {
        self.0.decimals
    }
    /// Crypto networks this currency lives on.
    async fn networks(&self, ctx: &Context<'_>) -> Result<Vec<Network>> {
        let rows =
            req(ctx)?.loaders.networks_by_currency.load_one(self.0.id).await.map_err(load_err)?.unwrap_or_default();
        let mut out: Vec<Network> = rows.into_iter().map(|(_, n)| Network(n)).collect();
        out.sort_by(|a, b| a.0.code.cmp(&b.0.code));
        Ok(out)
    }
}

/// A crypto network.
pub struct Network(pub network::Model);

#[Object]
impl Network {
    /// Code such as ethereum, polygon, bitcoin, tron.
    async fn code(&self) -> &str {
        &self.0.code
    }
    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Regular expression the whole address must match (family PATTERN).
    async fn address_pattern(&self) -> Option<&str> {
        self.0.address_pattern.as_deref()
    }
    /// How addresses on this network are checked.
    async fn address_family(&self) -> Result<AddressFamily> {
        AddressFamily::parse(&self.0.address_family).gql()
    }
    /// Currencies living on this network.
    async fn currencies(&self, ctx: &Context<'_>) -> Result<Vec<Currency>> {
        let rows =
            req(ctx)?.loaders.currencies_by_network.load_one(self.0.id).await.map_err(load_err)?.unwrap_or_default();
        let mut out: Vec<Currency> = rows.into_iter().map(|(_, c)| Currency(c)).collect();
        out.sort_by(|a, b| a.0.code.cmp(&b.0.code));
        Ok(out)
    }
}

/// A project grouping accounts.
pub struct Project(pub project::Model);

#[Object]
impl Project {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// Name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Configuration queries.
#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// The organization's account types.
    async fn account_types(&self, ctx: &Context<'_>) -> Result<Vec<AccountType>> {
        let r = req(ctx)?;
        Ok(catalog::account_types(r.db, r.principal.organization_id)
            .await
            .gql()?
            .into_iter()
            .map(AccountType)
            .collect())
    }
    /// The organization's currencies.
    async fn currencies(&self, ctx: &Context<'_>) -> Result<Vec<Currency>> {
        let r = req(ctx)?;
        Ok(catalog::currencies(r.db, r.principal.organization_id).await.gql()?.into_iter().map(Currency).collect())
    }
    /// The organization's networks.
    async fn networks(&self, ctx: &Context<'_>) -> Result<Vec<Network>> {
        let r = req(ctx)?;
        Ok(catalog::networks(r.db, r.principal.organization_id).await.gql()?.into_iter().map(Network).collect())
    }
    /// The organization's projects.
    async fn projects(&self, ctx: &Context<'_>) -> Result<Vec<Project>> {
        let r = req(ctx)?;
        Ok(catalog::projects(r.db, r.principal.organization_id).await.gql()?.into_iter().map(Project).collect())
    }
}
