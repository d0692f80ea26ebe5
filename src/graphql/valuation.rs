//! Balances valued in USD: per asset, per account, over a sub-account tree,
//! and the quotes themselves.

use crate::domain::money::Dec;
use crate::domain::valuation::{cents, exact_sum, sum_overflow, sums_by, total_and_usd, usd_value};
use crate::error::{AppError, ToGql};
use crate::graphql::assets::{at_scale, Asset};
use crate::graphql::catalog::Currency;
use crate::graphql::{load_err, req};
use crate::pricing::QuoteView;
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::Amount;
use entity::{account, currency};
use rust_decimal::Decimal;
use std::collections::HashMap;
use uuid::Uuid;

/// One asset valued in USD.
pub struct AssetValuation {
    /// The asset.
    pub asset: Asset,
    /// Its currency's quote, when there is one.
    pub quote: Option<QuoteView>,
}

impl AssetValuation {
    /// The USD value: `Ok(None)` without a quote, an error when the
    /// quantity or its value does not fit.
    fn usd(&self) -> Result<Option<Decimal>, AppError> {
        let Some(q) = &self.quote else { return Ok(None) };
        usd_value(self.asset.total()?, q.quote.rate).map(Some).ok_or_else(|| sum_overflow("the USD value"))
    }
}

#[Object]
impl AssetValuation {
    /// The valued asset.
    async fn asset(&self) -> Asset {
        self.asset.clone()
    }
    /// The currency code.
    async fn symbol(&self) -> &str {
        &self.asset.currency.code
    }
    /// The currency name.
    async fn name(&self) -> &str {
        &self.asset.currency.name
    }
    /// The currency's decimals.
    async fn decimals(&self) -> i32 {
        self.asset.currency.decimals
    }
    /// The asset's total balance.
    async fn quantity(&self) -> Result<Dec> {
        Ok(at_scale(self.asset.total().gql()?, self.asset.currency.decimals))
    }
    /// quantity x quoteRate, rounded half-even to cents; null without a quote.
    async fn usd_value(&self) -> Result<Option<Dec>> {
        Ok(self.usd().gql()?.map(Dec))
    }
    /// USD per unit.
    async fn usd_quote_rate(&self) -> Option<Dec> {
        self.quote.as_ref().map(|q| Dec(q.quote.rate))
    }
    /// When the quote was taken.
    async fn usd_quote_timestamp(&self) -> Option<DateTime<Utc>> {
        self.quote.as_ref().map(|q| q.quote.at)
    }
    /// The quote is older than its freshness limit.
    async fn stale(&self) -> bool {
        self.quote.as_ref().is_some_and(|q| q.stale)
    }
}

/// An account's balances valued in USD.
pub struct Valuation {
    /// One entry per asset.
    pub assets: Vec<AssetValuation>,
    /// When it was computed.
    pub timestamp: DateTime<Utc>,
}

#[Object]
impl Valuation {
    /// Always USD.
    async fn currency(&self) -> &str {
        "USD"
    }
    /// Sum of the rounded asset values.
    async fn total(&self) -> Result<Dec> {
        let mut values = Vec::with_capacity(self.assets.len());
        for a in &self.assets {
            values.extend(a.usd().gql()?);
        }
        Ok(Dec(cents(exact_sum(values).ok_or_else(|| sum_overflow("the USD total")).gql()?)))
    }
    /// False when any asset had no quote.
    async fn complete(&self) -> bool {
        self.assets.iter().all(|a| a.quote.is_some())
    }
    /// The valued assets.
    async fn assets(&self) -> &[AssetValuation] {
        &self.assets
    }
    /// When it was computed.
    async fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }
}

/// The quotes of `codes`: current ones (through the cache), or with `at`
/// the latest of the quote history at or before it (`stale` relative to
/// `at`). A code without a quote is absent.
pub(crate) async fn quotes_for(
    ctx: &Context<'_>,
    codes: Vec<String>,
    at: Option<DateTime<Utc>>,
) -> Result<HashMap<String, QuoteView>> {
    let l = req(ctx)?.loaders;
    match at {
        None => l.quotes.load_many(codes).await.map_err(load_err),
        Some(at) => {
            let found = l.quotes_at.load_many(codes.into_iter().map(|c| (c, at))).await.map_err(load_err)?;
            Ok(found.into_iter().map(|((code, _), q)| (code, q)).collect())
        }
    }
}

/// Values an asset, now or as it stood at `at`.
pub async fn value_asset(ctx: &Context<'_>, asset: Asset, at: Option<DateTime<Utc>>) -> Result<AssetValuation> {
    let asset = asset.as_of(ctx, at).await?;
    let quote = quotes_for(ctx, vec![asset.currency.code.clone()], at).await?.remove(&asset.currency.code);
    Ok(AssetValuation { asset, quote })
}

/// Values every asset of `account`, now or as they stood at `at`.
pub async fn value_account(
    ctx: &Context<'_>,
    account: &account::Model,
    at: Option<DateTime<Utc>>,
) -> Result<Valuation> {
    let r = req(ctx)?;
    let rows = r.loaders.assets_by_account.load_one(account.id).await.map_err(load_err)?.unwrap_or_default();
    let assets = rows.into_iter().map(|(model, currency)| Asset { model, currency });
    let assets: Vec<Asset> = match at {
        None => assets.collect(),
        // All at once, so the journal reads of every asset batch into one.
        Some(_) => futures_util::future::try_join_all(assets.map(|a| async move { a.as_of(ctx, at).await })).await?,
    };
    let quotes = quotes_for(ctx, assets.iter().map(|a| a.currency.code.clone()).collect(), at).await?;
    let assets = assets
        .into_iter()
        .map(|asset| {
            let quote = quotes.get(&asset.currency.code).cloned();
            AssetValuation { asset, quote }
        })
        .collect();
    Ok(Valuation { assets, timestamp: at.unwrap_or_else(|| r.store.clock.now()) })
}

/// Balances of one currency over a sub-account tree.
#[derive(SimpleObject)]
pub struct CurrencyBalance {
    /// The currency.
    pub currency: Currency,
    /// available + onHold.
    pub total: Dec,
    /// Available.
    pub available: Dec,
    /// On hold.
    pub on_hold: Dec,
}

/// Balances summed over every descendant sub-account.
#[derive(SimpleObject)]
pub struct BalanceSummary {
    /// Descendant accounts counted.
    pub account_count: i32,
    /// Per currency.
    pub by_currency: Vec<CurrencyBalance>,
    /// Sum over currencies of the rounded USD value of each total.
    pub usd_total: Dec,
    /// False when any currency had no quote.
    pub complete: bool,
}

/// Sums `account`'s descendants, now or with their balances as they stood
/// at `at` (over today's tree).
pub async fn subtree_summary(
    ctx: &Context<'_>,
    account: &account::Model,
    at: Option<DateTime<Utc>>,
) -> Result<BalanceSummary> {
    let l = req(ctx)?.loaders;
    let mut rows = l.subtree.load_one(account.id).await.map_err(load_err)?.unwrap_or_default();
    if let Some(at) = at {
        let keys = rows.iter().filter_map(|r| r.asset_id).map(|a| (a, at));
        let then = l.balance_at.load_many(keys).await.map_err(load_err)?;
        for r in rows.iter_mut() {
            let entry = r.asset_id.and_then(|a| then.get(&(a, at)));
            (r.available, r.on_hold) =
                entry.map_or((Amount::default(), Amount::default()), |e| (e.available, e.on_hold));
        }
    }
    let accounts: std::collections::HashSet<Uuid> = rows.iter().map(|r| r.account_id).collect();
    let sums = sums_by(rows.iter().filter_map(|r| r.currency_id.map(|c| (c, r.available.0, r.on_hold.0)))).gql()?;
    let currencies = l.currencies.load_many(sums.keys().copied()).await.map_err(load_err)?;
    let quotes = quotes_for(ctx, currencies.values().map(|c| c.code.clone()).collect(), at).await?;
    let mut by_currency: Vec<(currency::Model, Decimal, Decimal)> =
        sums.into_iter().filter_map(|(id, (a, h))| currencies.get(&id).map(|c| (c.clone(), a, h))).collect();
    by_currency.sort_by(|x, y| x.0.code.cmp(&y.0.code));
    let (mut rows, mut values) = (Vec::with_capacity(by_currency.len()), Vec::new());
    let mut complete = true;
    for (c, available, on_hold) in by_currency {
        let rate = quotes.get(&c.code).map(|q| q.quote.rate);
        complete &= rate.is_some();
        let (total, usd) = total_and_usd(available, on_hold, rate).gql()?;
        values.extend(usd);
        let s = c.decimals;
        rows.push(CurrencyBalance {
            total: at_scale(total, s),
            available: at_scale(available, s),
            on_hold: at_scale(on_hold, s),
            currency: Currency(c),
        });
    }
    let usd_total = exact_sum(values).ok_or_else(|| sum_overflow("the USD total")).gql()?;
    let by_currency = rows;
    Ok(BalanceSummary { account_count: accounts.len() as i32, by_currency, usd_total: Dec(cents(usd_total)), complete })
}

/// A USD quote.
pub struct Quote(pub QuoteView);

#[Object]
impl Quote {
    /// The currency code.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// USD per unit.
    async fn usd_rate(&self) -> Dec {
        Dec(self.0.quote.rate)
    }
    /// When the source gave it.
    async fn timestamp(&self) -> DateTime<Utc> {
        self.0.quote.at
    }
    /// Which source.
    async fn source(&self) -> &str {
        &self.0.quote.source
    }
    /// Older than the freshness limit (served because the source failed).
    async fn stale(&self) -> bool {
        self.0.stale
    }
}

/// Quote queries.
#[derive(Default)]
pub struct QuoteQuery;

#[Object]
impl QuoteQuery {
    /// Current USD quotes for the given currency codes, through the quote
    /// cache. Codes the organization does not know, and codes with no
    /// quote, are absent from the answer.
    async fn quotes(&self, ctx: &Context<'_>, currencies: Vec<String>) -> Result<Vec<Quote>> {
        if currencies.len() > 100 {
            return Err(crate::error::AppError::invalid("currencies", "at most 100 codes").to_graphql());
        }
        let r = req(ctx)?;
        // Only the organization's own currencies reach the price source:
        // anything else is answered as "no quote" without a call.
        let known: std::collections::HashSet<String> =
            crate::service::catalog::currencies(r.db, r.principal.organization_id)
                .await
                .gql()?
                .into_iter()
                .map(|c| c.code.to_uppercase())
                .collect();
        let codes: Vec<String> =
            currencies.iter().map(|c| c.trim().to_uppercase()).filter(|c| known.contains(c)).collect();
        let found = r.loaders.quotes.load_many(codes.clone()).await.map_err(load_err)?;
        let mut seen = std::collections::HashSet::new();
        Ok(codes
            .into_iter()
            .filter(|c| seen.insert(c.clone()))
            .filter_map(|c| found.get(&c).cloned().map(Quote))
            .collect())
    }

    /// Every quote kept for `currency` (one of the organization's) taken in
    /// `[from, to]`, oldest first; at most 1,000 (more is LIMIT_EXCEEDED).
    async fn quote_history(
        &self,
        ctx: &Context<'_>,
        currency: String,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Quote>> {
        let r = req(ctx)?;
        let code = currency.trim().to_uppercase();
        let known = crate::service::catalog::currencies(r.db, r.principal.organization_id).await.gql()?;
        if !known.iter().any(|c| c.code.eq_ignore_ascii_case(&code)) {
            return Err(AppError::invalid("currency", "no currency with this code").to_graphql());
        }
        let rows = crate::service::quote_history::between(r.db, &code, from, to).await.gql()?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let quote = crate::pricing::CachedQuote { rate: m.rate.0, at: m.at, source: m.source };
                Quote(QuoteView { currency: m.currency, quote, stale: false })
            })
            .collect())
    }
}
