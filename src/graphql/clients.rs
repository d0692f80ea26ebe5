//! Clients: the owners of accounts.

use crate::domain::commands::{ClientChanges, NewClient};
use crate::domain::filter::AccountCondition;
use crate::domain::paging::PageArgs;
use crate::domain::ClientKind;
use crate::error::ToGql;
use crate::graphql::accounts::{Account, AccountOrder};
use crate::graphql::connection::{connection, forward, wants_total, Conn};
use crate::graphql::fast::Fast;
use crate::graphql::filters::{account_query, AccountFilter, ClientFilter};
use crate::graphql::inputs::{input_error, CreateClientInput, UpdateClientInput};
use crate::graphql::req;
use crate::service::{client_write, clients};
use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};
use entity::client;
use futures_util::FutureExt;
use uuid::Uuid;

/// A person or business that owns accounts.
pub struct Client(pub client::Model);

// `accounts` pages, so it runs `.boxed()`, as `Account`'s resolvers that
// call services do (see there).
#[Object]
impl Client {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// The integrator's reference, unique per organization.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Full name or company name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Contact email.
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    /// Person or business.
    async fn kind(&self) -> Result<ClientKind> {
        ClientKind::parse(&self.0.kind).gql()
    }
    /// The client's accounts, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilter>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> Result<Conn<Fast<Account>>> {
        async move {
            let q = account_query(filter, Some(AccountCondition::OwnerId(self.0.id))).gql()?;
            let order = AccountOrder::default();
            let args = forward(first, after, offset);
            let page = crate::graphql::accounts::read_page(ctx, &q, (order.field, order.direction), &args).await?;
            Ok(connection(page, |m| Fast(Account(m))))
        }
        .boxed()
        .await
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Client queries.
#[derive(Default)]
pub struct ClientQuery;

#[Object]
impl ClientQuery {
    /// One client by id; null when it is not in your organization.
    async fn client(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Client>> {
        let r = req(ctx)?;
        Ok(clients::find(r.db, r.principal.organization_id, id).await.gql()?.map(Client))
    }
    /// Clients matching `filter`, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn clients(
        &self,
        ctx: &Context<'_>,
        filter: Option<ClientFilter>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> Result<Conn<Client>> {
        let r = req(ctx)?;
        let args: PageArgs = forward(first, after, offset);
        let page = clients::list(
            r.db,
            r.principal.organization_id,
            &filter.unwrap_or_default().conditions(),
            &args,
            wants_total(ctx),
        )
        .await
        .gql()?;
        Ok(connection(page, Client))
    }
}

/// Client mutations.
#[derive(Default)]
pub struct ClientMutation;

#[Object]
impl ClientMutation {
    /// Adds a client.
    async fn create_client(&self, ctx: &Context<'_>, input: CreateClientInput) -> Result<Client> {
        let r = req(ctx)?;
        let cmd = NewClient::from(input).check().map_err(input_error(&[])).gql()?;
        Ok(Client(client_write::create(r.store, r.principal, &cmd).await.map_err(input_error(&[])).gql()?))
    }
    /// Changes a client.
    async fn update_client(&self, ctx: &Context<'_>, id: Uuid, input: UpdateClientInput) -> Result<Client> {
        let r = req(ctx)?;
        let own = input_error(&["id"]);
        let ch = ClientChanges::from(input).check().map_err(&own).gql()?;
        Ok(Client(client_write::update(r.store, r.principal, id, &ch).await.map_err(own).gql()?))
    }
}
