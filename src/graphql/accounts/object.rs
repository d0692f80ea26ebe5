//! The `Account` object. Every relation resolves through a loader.

use crate::domain::filter::AccountCondition;
use crate::domain::paging::CursorField;
use crate::domain::{
    address, AccountKind, AccountOrderField, AccountStatus, AddressFamily, AssetStatus, OrderDirection, SystemRole,
};
use crate::error::{AppError, ToGql};
use crate::graphql::assets::{Asset, SmartCard};
use crate::graphql::audit::AuditEvent;
use crate::graphql::catalog::{AccountType, Project};
use crate::graphql::clients::Client;
use crate::graphql::connection::{connection, forward, wants_total, Conn};
use crate::graphql::fast::Fast;
use crate::graphql::filters::{account_query, AccountFilter};
use crate::graphql::transfers::Transfer;
use crate::graphql::valuation::{subtree_summary, value_account, BalanceSummary, Valuation};
use crate::graphql::{load_err, req};
use crate::service::accounts::{sort_key, sort_spec};
use crate::service::paging::{newest_first_page, slice_page};
use crate::service::transfers::TransferConditions;
use async_graphql::{Context, InputObject, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::account;
use futures_util::FutureExt;
use uuid::Uuid;

/// An account: a container of balances (its assets) owned by a client, or
/// a system account of the organization.
pub struct Account(pub account::Model);

/// How an account list is sorted.
#[derive(InputObject, Clone, Copy, Debug)]
pub struct AccountOrder {
    /// The sort column (then the id).
    pub field: AccountOrderField,
    /// Ascending or descending.
    pub direction: OrderDirection,
}

impl Default for AccountOrder {
    fn default() -> Self {
        AccountOrder { field: AccountOrderField::CreatedAt, direction: OrderDirection::Desc }
    }
}

/// Why an account has its status.
#[derive(SimpleObject)]
pub struct StatusReason {
    /// A short code such as `AML` or `other`.
    pub code: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// When the status last changed.
    pub changed_at: DateTime<Utc>,
}

/// The bank account that holds a custodied account's funds.
#[derive(SimpleObject, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BankAccount {
    /// The bank's account number.
    pub account_number: String,
    /// The bank.
    pub bank: String,
    /// Currency of the bank account.
    pub currency: String,
    /// Checking, savings, ...
    pub type_account: Option<String>,
    /// Country (ISO 3166).
    pub country: Option<String>,
}

// async-graphql resolves each selected field in a future as large as the
// type's largest resolver, allocated and moved per field: resolvers that
// call services or page run `.boxed()`, so that a leaf field costs a small
// allocation instead of the several kilobytes of a paged query (5.6 KB for
// an `Account` field before, 1 KB after).
#[Object]
impl Account {
    /// Unique id (UUID v7).
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// Auto-increment number, unique per organization.
    async fn uid(&self) -> i64 {
        self.0.uid
    }
    /// Generated internal reference with a check digit, unique per organization.
    async fn account_number(&self) -> &str {
        &self.0.account_number
    }
    /// Name, 1 to 100 characters.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Optional handle, unique per organization.
    async fn alias(&self) -> Option<&str> {
        self.0.alias.as_deref()
    }
    /// The account's type.
    #[graphql(name = "type")]
    async fn account_type(&self, ctx: &Context<'_>) -> Result<Fast<AccountType>> {
        let r = req(ctx)?;
        let t = r.loaders.account_types.load_one(self.0.type_id).await.map_err(load_err)?;
        t.map(|t| Fast(AccountType(t))).ok_or_else(|| AppError::internal("account without its type").to_graphql())
    }
    /// Client or system account.
    async fn kind(&self) -> Result<AccountKind> {
        AccountKind::parse(&self.0.kind).gql()
    }
    /// The system account's role; set only when kind = SYSTEM.
    async fn system_role(&self) -> Result<Option<SystemRole>> {
        self.0.system_role.as_deref().map(SystemRole::parse).transpose().gql()
    }
    /// Life-cycle status.
    async fn status(&self) -> Result<AccountStatus> {
        AccountStatus::parse(&self.0.status).gql()
    }
    /// Why the account has its status, when a reason was given.
    async fn status_reason(&self) -> Option<StatusReason> {
        let m = &self.0;
        (m.status_reason_code.is_some() || m.status_reason_description.is_some()).then(|| StatusReason {
            code: m.status_reason_code.clone(),
            description: m.status_reason_description.clone(),
            changed_at: m.status_changed_at,
        })
    }
    /// When the status last changed, whether or not a reason was given
    /// (creation counts as the first change).
    async fn status_changed_at(&self) -> DateTime<Utc> {
        self.0.status_changed_at
    }
    /// The integrator's reference, unique per organization.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The project the account belongs to.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let Some(id) = self.0.project_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.projects.load_one(id).await.map_err(load_err)?.map(Project))
    }
    /// The owning client; null for system accounts. Never changes once set.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<Fast<Client>>> {
        let Some(id) = self.0.owner_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.clients.load_one(id).await.map_err(load_err)?.map(|c| Fast(Client(c))))
    }
    /// The parent account of a sub-account.
    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Account>> {
        let Some(id) = self.0.parent_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.accounts.load_one(id).await.map_err(load_err)?.map(Account))
    }
    /// Direct sub-accounts, newest first. Without a filter they come from
    /// one batched load for the whole page of parents.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn sub_accounts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AccountFilter>,
        first: Option<i32>,
        after: Option<String>,
        offset: Option<i32>,
    ) -> Result<Conn<Fast<Account>>> {
        async move {
            let r = req(ctx)?;
            let args = forward(first, after, offset);
            let order = (AccountOrderField::CreatedAt, OrderDirection::Desc);
            let page = match filter {
                None => {
                    let page = args.validate(order.0.into()).gql()?;
                    let rows = r.loaders.children.load_one(self.0.id).await.map_err(load_err)?.unwrap_or_default();
                    let page = slice_page(rows, &sort_spec(order.0, order.1), &page, |m| sort_key(order.0, m));
                    super::prefetch(ctx, &page).await?;
                    page
                }
                Some(f) => {
                    let q = account_query(Some(f), Some(AccountCondition::ParentId(self.0.id))).gql()?;
                    super::read_page(ctx, &q, order, &args).await?
                }
            };
            Ok(connection(page, |m| Fast(Account(m))))
        }
        .boxed()
        .await
    }
    /// Transfers in or out of any of the account's assets, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn transfers(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Conn<Transfer>> {
        async move {
            let args = forward(first, after, None);
            // The first page comes from one load for the whole page of
            // accounts; a later page, or one with its total, is read alone.
            if args.after.is_some() || wants_total(ctx) {
                let conditions = TransferConditions { account_id: Some(self.0.id), ..Default::default() };
                return crate::graphql::transfers::page(ctx, &conditions, args).await;
            }
            let page = args.validate(CursorField::At).gql()?;
            let l = req(ctx)?.loaders;
            let rows = l.transfers_by_account.load_one((self.0.id, page.limit + 1)).await.map_err(load_err)?;
            let sliced = newest_first_page(rows.unwrap_or_default(), &page, |m| (m.at, m.id));
            Ok(connection(sliced, Transfer))
        }
        .boxed()
        .await
    }
    /// Balances summed over every descendant sub-account, per currency, with
    /// a USD total; with `at`, the balances as they stood then (over today's
    /// sub-accounts), valued with the quotes of then.
    async fn sub_accounts_balance(&self, ctx: &Context<'_>, at: Option<DateTime<Utc>>) -> Result<BalanceSummary> {
        subtree_summary(ctx, &self.0, at).boxed().await
    }
    /// The account's balances valued in USD, one entry per asset; with `at`,
    /// the balances as they stood at that instant, each valued with the
    /// latest quote at or before it (no quote then: `usdValue` null,
    /// `complete: false`).
    async fn balance(&self, ctx: &Context<'_>, at: Option<DateTime<Utc>>) -> Result<Fast<Valuation>> {
        value_account(ctx, &self.0, at).boxed().await.map(Fast)
    }
    /// Product reference.
    async fn product_id(&self) -> Option<&str> {
        self.0.product_id.as_deref()
    }
    /// Seed 004's wallet account reference: an account of the same
    /// organization (NOT_FOUND on input when it names none).
    async fn wallet_account_id(&self) -> Option<Uuid> {
        self.0.wallet_account_id
    }
    /// Whether the account may send funds.
    async fn allow_sending(&self) -> bool {
        self.0.allow_sending
    }
    /// Whether the account may receive funds.
    async fn allow_receiving(&self) -> bool {
        self.0.allow_receiving
    }
    /// The owner's main account.
    async fn main(&self) -> bool {
        self.0.main
    }
    /// Used in accounting (true) or in circulation (false).
    async fn accounting(&self) -> bool {
        self.0.accounting
    }
    /// Custody type.
    async fn custody(&self) -> Option<&str> {
        self.0.custody.as_deref()
    }
    /// The bank account holding the funds, when custodied at a bank.
    async fn custody_bank_account(&self) -> Option<BankAccount> {
        self.0.custody_bank_account.clone().and_then(|v| serde_json::from_value(v).ok())
    }
    /// Free-form string/number/boolean values by key.
    async fn metadata(&self) -> Json<serde_json::Value> {
        Json(self.0.metadata.clone())
    }
    /// The account's assets (one per currency), optionally by status.
    #[graphql(complexity = "crate::graphql::limits::EXPECTED_ASSETS * child_complexity")]
    async fn assets(&self, ctx: &Context<'_>, status: Option<AssetStatus>) -> Result<Vec<Fast<Asset>>> {
        let rows = req(ctx)?.loaders.assets_by_account.load_one(self.0.id).await.map_err(load_err)?.unwrap_or_default();
        Ok(rows
            .into_iter()
            .filter(|(a, _)| status.is_none_or(|s| AssetStatus::from_name(&a.status) == Some(s)))
            .map(|(a, c)| Fast(Asset { model: a, currency: c }))
            .collect())
    }
    /// Every wallet address of every asset of this account.
    async fn addresses(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        async move {
            let l = req(ctx)?.loaders;
            let assets = l.assets_by_account.load_one(self.0.id).await.map_err(load_err)?.unwrap_or_default();
            let wallets = l.wallets_by_asset.load_many(assets.iter().map(|(a, _)| a.id)).await.map_err(load_err)?;
            assets
                .iter()
                .flat_map(|(a, _)| wallets.get(&a.id).into_iter().flatten())
                .map(|(w, n)| Ok(address::display(AddressFamily::parse(&n.address_family)?, &w.address)))
                .collect::<Result<_, AppError>>()
                .gql()
        }
        .boxed()
        .await
    }
    /// Smart cards issued on this account.
    #[graphql(complexity = "crate::graphql::limits::EXPECTED_CARDS * child_complexity")]
    async fn smart_cards(&self, ctx: &Context<'_>) -> Result<Vec<Fast<SmartCard>>> {
        let rows = req(ctx)?.loaders.cards_by_account.load_one(self.0.id).await.map_err(load_err)?.unwrap_or_default();
        Ok(rows.into_iter().map(|c| Fast(SmartCard(c))).collect())
    }
    /// Changes to this account and its assets, wallets and cards, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn audit_trail(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<AuditEvent>> {
        crate::graphql::audit::events(ctx, &[], Some(self.0.id), first, after).boxed().await
    }
    /// Increments on every change; pass it as `expectedVersion` to update safely.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
    /// When the account was soft-deleted.
    async fn deleted_at(&self) -> Option<DateTime<Utc>> {
        self.0.deleted_at
    }
}
