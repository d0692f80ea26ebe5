//! Configuration mutations (ADMIN).

use crate::domain::commands::{NewAccountType, NewCurrency, NewNetwork};
use crate::error::ToGql;
use crate::graphql::catalog::{AccountType, Currency, Network, Project};
use crate::graphql::inputs::{input_error, AccountTypeInput, CurrencyInput, NetworkInput};
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
        let cmd = NewAccountType::from(input).check().map_err(input_error(&[])).gql()?;
        let created = catalog_write::create_account_type(r.store, r.principal, &cmd).await;
        Ok(AccountType(created.map_err(input_error(&[])).gql()?))
    }
    /// Adds a currency and the networks it lives on.
    async fn create_currency(&self, ctx: &Context<'_>, input: CurrencyInput) -> Result<Currency> {
        let r = req(ctx)?;
        let cmd = NewCurrency::from(input).check().map_err(input_error(&[])).gql()?;
        let created = catalog_write::create_currency(r.store, r.principal, &cmd).await;
        Ok(Currency(created.map_err(input_error(&[])).gql()?))
    }
    /// Adds a network.
    async fn create_network(&self, ctx: &Context<'_>, input: NetworkInput) -> Result<Network> {
        let r = req(ctx)?;
        let cmd = NewNetwork::from(input).check().map_err(input_error(&[])).gql()?;
        let created = catalog_write::create_network(r.store, r.principal, &cmd).await;
        Ok(Network(created.map_err(input_error(&[])).gql()?))
    }
    /// Adds a project.
    async fn create_project(&self, ctx: &Context<'_>, name: String) -> Result<Project> {
        let r = req(ctx)?;
        Ok(Project(catalog_write::create_project(r.store, r.principal, &name).await.gql()?))
    }
}
