//! Account queries: one account by each unique key, and the list.

use super::{prefetch, read_page, Account, AccountOrder};
use crate::domain::paging::PageArgs;
use crate::error::ToGql;
use crate::graphql::connection::{connection, Conn};
use crate::graphql::fast::Fast;
use crate::graphql::filters::{account_query, AccountFilter};
use crate::service::accounts::Lookup;
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

/// Account queries.
#[derive(Default)]
pub struct AccountQuery;

async fn lookup(ctx: &Context<'_>, key: Lookup) -> Result<Option<Fast<Account>>> {
    Ok(prefetch::find_one(ctx, key).await?.map(|m| Fast(Account(m))))
}

#[Object]
impl AccountQuery {
    /// One account by id; null when it is not in your organization.
    async fn account(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Fast<Account>>> {
        lookup(ctx, Lookup::Id(id)).await
    }

    /// One account by the integrator's external id.
    async fn account_by_external_id(&self, ctx: &Context<'_>, external_id: String) -> Result<Option<Fast<Account>>> {
        lookup(ctx, Lookup::ExternalId(external_id)).await
    }

    /// One account by alias.
    async fn account_by_alias(&self, ctx: &Context<'_>, alias: String) -> Result<Option<Fast<Account>>> {
        lookup(ctx, Lookup::Alias(alias)).await
    }

    /// One account by account number.
    async fn account_by_number(&self, ctx: &Context<'_>, account_number: String) -> Result<Option<Fast<Account>>> {
        lookup(ctx, Lookup::Number(account_number)).await
    }

    /// Totals over the accounts matching `filter`, one group per distinct
    /// value of the `groupBy` keys (no keys: one group). Sums are computed by
    /// the database, exact to each currency's scale; USD with current quotes,
    /// or with the quotes of `at` (and then the balances of `at`, over the
    /// accounts created by then).
    #[graphql(complexity = "crate::graphql::limits::groups_weight(group_by.as_deref()) * child_complexity")]
    async fn accounts_aggregate(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilter>,
        #[graphql(default_with = "Some(Vec::new())")] group_by: Option<Vec<crate::domain::AccountGroupKey>>,
        at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<crate::graphql::aggregate::AccountGroup>> {
        let keys = group_by.unwrap_or_default();
        crate::graphql::aggregate::groups(ctx, &account_query(filter, None).gql()?, &keys, at).await
    }

    /// Accounts matching `filter`, ordered, paged forwards (`first`/`after`),
    /// backwards (`last`/`before`) or by `offset`. Default page 50, max 500.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "first.or(last).unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilter>,
        #[graphql(default_with = "Some(AccountOrder::default())")] order_by: Option<AccountOrder>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        offset: Option<i32>,
    ) -> Result<Conn<Fast<Account>>> {
        let order = order_by.unwrap_or_default();
        let args = PageArgs { first, after, last, before, offset };
        let query = account_query(filter, None).gql()?;
        let page = read_page(ctx, &query, (order.field, order.direction), &args).await?;
        Ok(connection(page, |m| Fast(Account(m))))
    }
}
