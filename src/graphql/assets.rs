//! Assets (balances per currency), their wallets, and smart cards.

use crate::domain::cards::{expiration_status, masked};
use crate::domain::money::Dec;
use crate::domain::valuation::{exact_add, sum_overflow};
use crate::domain::{AssetStatus, CardExpirationStatus};
use crate::error::{AppError, ToGql};
use crate::graphql::accounts::Account;
use crate::graphql::catalog::{Currency, Network};
use crate::graphql::fast::Fast;
use crate::graphql::{load_err, req};
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{asset, currency, network, smart_card, wallet};
use futures_util::FutureExt;
use rust_decimal::Decimal;
use uuid::Uuid;

/// One currency's balance on an account.
#[derive(Clone)]
pub struct Asset {
    /// The asset row.
    pub model: asset::Model,
    /// Its currency, loaded with it.
    pub currency: currency::Model,
}

/// The balance fields of an asset, at the currency's scale.
#[derive(SimpleObject)]
pub struct AssetBalance {
    /// available + onHold.
    pub total: Dec,
    /// Spendable now.
    pub available: Dec,
    /// Held.
    pub on_hold: Dec,
    /// Incoming, not yet settled; not part of total.
    pub future: Dec,
    /// Credit line; spendable is available + creditLimit.
    pub credit_limit: Dec,
    /// The currency's decimals.
    pub scale: i32,
}

impl AssetBalance {
    /// The balance fields at `scale`, with their exact total (or
    /// LIMIT_EXCEEDED when it would not fit).
    pub fn of(
        available: Decimal,
        on_hold: Decimal,
        future: Decimal,
        credit_limit: Decimal,
        scale: i32,
    ) -> Result<Self, AppError> {
        let total = exact_add(available, on_hold).ok_or_else(|| sum_overflow("the total balance"))?;
        Ok(AssetBalance {
            total: at_scale(total, scale),
            available: at_scale(available, scale),
            on_hold: at_scale(on_hold, scale),
            future: at_scale(future, scale),
            credit_limit: at_scale(credit_limit, scale),
            scale,
        })
    }
}

/// Shows `d` with at least `scale` decimals ("10" -> "10.00"). A value with
/// more decimals keeps them: rounding here would hide money.
pub fn at_scale(d: Decimal, scale: i32) -> Dec {
    let scale = scale.clamp(0, 28) as u32;
    let mut d = d.normalize();
    if d.scale() < scale {
        d.rescale(scale);
    }
    Dec(d)
}

impl Asset {
    /// available + onHold, exactly, or LIMIT_EXCEEDED.
    pub fn total(&self) -> Result<Decimal, AppError> {
        exact_add(self.model.available.0, self.model.on_hold.0).ok_or_else(|| sum_overflow("the total balance"))
    }

    /// The balance fields at the currency's scale.
    pub fn balance_now(&self) -> Result<AssetBalance, AppError> {
        let m = &self.model;
        AssetBalance::of(m.available.0, m.on_hold.0, m.future.0, m.credit_limit.0, self.currency.decimals)
    }

    /// This asset as it stood at `at`, from its journal: zeros before it
    /// existed. `None` reads now.
    pub async fn as_of(&self, ctx: &Context<'_>, at: Option<DateTime<Utc>>) -> Result<Asset> {
        let Some(at) = at else { return Ok(self.clone()) };
        let entry = req(ctx)?.loaders.balance_at.load_one((self.model.id, at)).await.map_err(load_err)?;
        let zero = entity::Amount(Decimal::ZERO);
        let mut model = self.model.clone();
        match entry {
            Some(e) => {
                (model.available, model.on_hold, model.future, model.credit_limit) =
                    (e.available, e.on_hold, e.future, e.credit_limit);
            }
            None => {
                (model.available, model.on_hold, model.future, model.credit_limit) = (zero, zero, zero, zero);
            }
        }
        Ok(Asset { model, currency: self.currency.clone() })
    }
}

// Resolvers that call services run `.boxed()`, as `Account`'s do (see there).
#[Object]
impl Asset {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.model.id
    }
    /// The account holding the asset.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let a = req(ctx)?.loaders.accounts.load_one(self.model.account_id).await.map_err(load_err)?;
        a.map(Account).ok_or_else(|| AppError::internal("asset without its account").to_graphql())
    }
    /// The asset's currency.
    async fn currency(&self) -> Fast<Currency> {
        Fast(Currency(self.currency.clone()))
    }
    /// INACTIVE when added; activated explicitly.
    async fn status(&self) -> Result<AssetStatus> {
        AssetStatus::parse(&self.model.status).gql()
    }
    /// Balance fields; with `at`, as they stood at that instant (zeros before
    /// the asset existed).
    async fn balance(&self, ctx: &Context<'_>, at: Option<DateTime<Utc>>) -> Result<Fast<AssetBalance>> {
        self.as_of(ctx, at).await?.balance_now().gql().map(Fast)
    }
    /// One point per interval in [from, to]: the balance at the end of each
    /// UTC bucket (weeks start on Monday). At most 1,000 points.
    #[graphql(complexity = "interval.points(from, to, 1_000_000) * child_complexity")]
    async fn balance_history(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        interval: crate::domain::HistoryInterval,
    ) -> Result<Vec<crate::graphql::journal::BalancePoint>> {
        crate::graphql::journal::history(ctx, self, from, to, interval).boxed().await
    }
    /// Every committed change of this asset's balance, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn journal(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<crate::graphql::connection::Conn<crate::graphql::journal::BalanceEntry>> {
        crate::graphql::journal::page(ctx, self, first, after).boxed().await
    }
    /// IBAN for fiat without bank integration.
    async fn address(&self) -> Option<&str> {
        self.model.address.as_deref()
    }
    /// The integrator's reference.
    async fn external_id(&self) -> Option<&str> {
        self.model.external_id.as_deref()
    }
    /// Bank holding the funds.
    async fn bank(&self) -> Option<&str> {
        self.model.bank.as_deref()
    }
    /// Third-party platform.
    async fn platform(&self) -> Option<&str> {
        self.model.platform.as_deref()
    }
    /// The asset's balance valued in USD; with `at`, as it stood then,
    /// valued with the latest quote at or before it.
    async fn valuation(
        &self,
        ctx: &Context<'_>,
        at: Option<DateTime<Utc>>,
    ) -> Result<crate::graphql::valuation::AssetValuation> {
        crate::graphql::valuation::value_asset(ctx, self.clone(), at).boxed().await
    }
    /// On-chain wallets of this asset.
    #[graphql(complexity = "crate::graphql::limits::EXPECTED_WALLETS * child_complexity")]
    async fn wallets(&self, ctx: &Context<'_>) -> Result<Vec<Fast<Wallet>>> {
        let rows =
            req(ctx)?.loaders.wallets_by_asset.load_one(self.model.id).await.map_err(load_err)?.unwrap_or_default();
        Ok(rows.into_iter().map(|(w, n)| Fast(Wallet { model: w, network: n })).collect())
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
    /// Set when the balance before this instant is not known (a journal
    /// backfilled from a database made before the journal, without an audit
    /// trail to rebuild it from): `balance(at:)` before it is an error.
    async fn history_starts_at(&self) -> Option<DateTime<Utc>> {
        self.model.history_starts_at
    }
    /// Last change.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.model.updated_at
    }
}

/// The asset `id` (with its currency) that a row of the caller's
/// organization refers to, through the request's loader.
pub async fn asset_of(ctx: &Context<'_>, id: Uuid) -> Result<Asset> {
    let rows = req(ctx)?.loaders.asset_by_id.load_one(id).await.map_err(load_err)?;
    let (model, currency) = rows
        .and_then(|mut v| v.pop())
        .ok_or_else(|| AppError::internal("a reference to a missing asset").to_graphql())?;
    Ok(Asset { model, currency })
}

/// An on-chain address of an asset on one network.
pub struct Wallet {
    /// The wallet row.
    pub model: wallet::Model,
    /// Its network, loaded with it.
    pub network: network::Model,
}

#[Object]
impl Wallet {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.model.id
    }
    /// The asset the wallet belongs to.
    async fn asset(&self, ctx: &Context<'_>) -> Result<Asset> {
        asset_of(ctx, self.model.asset_id).await
    }
    /// The network; never changes once set.
    async fn network(&self) -> Fast<Network> {
        Fast(Network(self.network.clone()))
    }
    /// The address; on an EVM network with its EIP-55 checksum (it is kept
    /// lower-case, so each address is one wallet whatever its case).
    async fn address(&self) -> Result<String> {
        let family = crate::domain::AddressFamily::parse(&self.network.address_family).gql()?;
        Ok(crate::domain::address::display(family, &self.model.address))
    }
    /// Whether the wallet is in use.
    async fn active(&self) -> bool {
        self.model.active
    }
    /// Creation time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

/// A payment card linked to an account. The full number is never stored.
pub struct SmartCard(pub smart_card::Model);

#[Object]
impl SmartCard {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// Name on the card.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Masked card number such as **** **** **** 4242. The full number is never stored or returned.
    async fn masked_number(&self) -> String {
        masked(&self.0.last4)
    }
    /// The last four digits.
    async fn last4(&self) -> &str {
        &self.0.last4
    }
    /// MM/YY.
    async fn expiration_date(&self) -> &str {
        &self.0.expiration_date
    }
    /// Computed now: EXPIRED after the month ends, EXPIRING_SOON in the last month or within 30 days of the end.
    async fn expiration_status(&self, ctx: &Context<'_>) -> Result<CardExpirationStatus> {
        Ok(expiration_status(&self.0.expiration_date, req(ctx)?.store.clock.now()))
    }
    /// Whether the card can be used.
    async fn active(&self) -> bool {
        self.0.active
    }
    /// Why and when the card was last deactivated; null while it has never been.
    async fn deactivation(&self) -> Option<crate::graphql::accounts::StatusReason> {
        let c = &self.0;
        c.deactivated_at.map(|at| crate::graphql::accounts::StatusReason {
            code: c.deactivation_reason_code.clone(),
            description: c.deactivation_reason_description.clone(),
            changed_at: at,
        })
    }
    /// Issue time.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
