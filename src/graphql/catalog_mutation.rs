//! Configuration mutations (ADMIN).

use crate::domain::inputs::{AccountTypeInput, CurrencyInput, NetworkInput};
use crate::error::ToGql;
use crate::graphql::catalog::{AccountType, Currency, Network, Project};
use crate::graphql::req;
use crate::service::catalog_write;
use async_graphql::{Context, Object, Result};

/// Configuration mutations.
#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    /// Adds an account type.
    async fn create_account_type(&self, ctx: &Context<'_>, input: AccountTypeInput) -> Result<AccountType> {
        let r = req(ctx)?;
        Ok(AccountType(catalog_write::create_account_type(r.store, r.principal, &input).await.gql()?))
    }
    /// Adds a currency and the networks it lives on.
    async fn create_currency(&self, ctx: &Context<'_>, input: CurrencyInput) -> Result<Currency> {
        let r = req(ctx)?;
        Ok(Currency(catalog_write::create_currency(r.store, r.principal, &input).await.gql()?))
    }
    /// Adds a network.
    async fn create_network(&self, ctx: &Context<'_>, input: NetworkInput) -> Result<Network> {
        let r = req(ctx)?;
        Ok(Network(catalog_write::create_network(r.store, r.principal, &input).await.gql()?))
    }
    /// Adds a project.
    async fn create_project(&self, ctx: &Context<'_>, name: String) -> Result<Project> {
        let r = req(ctx)?;
        Ok(Project(catalog_write::create_project(r.store, r.principal, &name).await.gql()?))
    }
}
