//! The balance journal as the schema shows it: `Asset.journal` and
//! `Asset.balanceHistory`.

use crate::domain::money::Dec;
use crate::domain::paging::{CursorField, PageArgs};
use crate::domain::{BalanceCause, HistoryInterval};
use crate::error::ToGql;
use crate::graphql::assets::{at_scale, Asset, AssetBalance};
use crate::graphql::connection::{connection, wants_total, Conn};
use crate::graphql::transfers::Transfer;
use crate::graphql::{load_err, req};
use crate::service::paging::newest_first_page;
use async_graphql::{Context, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use entity::balance_entry;
use uuid::Uuid;

/// One committed change of an asset's balance.
pub struct BalanceEntry {
    /// The journal row.
    pub model: balance_entry::Model,
    /// The currency's decimals.
    pub scale: i32,
}

#[Object]
impl BalanceEntry {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.model.id
    }
    /// Commit time.
    async fn at(&self) -> DateTime<Utc> {
        self.model.at
    }
    /// Who made the change.
    async fn actor(&self) -> &str {
        &self.model.actor
    }
    /// What made it.
    async fn cause(&self) -> Result<BalanceCause> {
        BalanceCause::parse(&self.model.cause).gql()
    }
    /// The adjustment's idempotency key.
    async fn idempotency_key(&self) -> Option<&str> {
        self.model.idempotency_key.as_deref()
    }
    /// Change of available.
    async fn delta_available(&self) -> Dec {
        at_scale(self.model.delta_available.0, self.scale)
    }
    /// Change of on hold.
    async fn delta_on_hold(&self) -> Dec {
        at_scale(self.model.delta_on_hold.0, self.scale)
    }
    /// Change of future.
    async fn delta_future(&self) -> Dec {
        at_scale(self.model.delta_future.0, self.scale)
    }
    /// The balance right after this entry.
    async fn balance(&self) -> Result<AssetBalance> {
        let m = &self.model;
        AssetBalance::of(m.available.0, m.on_hold.0, m.future.0, m.credit_limit.0, self.scale).gql()
    }
    /// The transfer this entry is one leg of (cause TRANSFER); null otherwise.
    async fn transfer(&self, ctx: &Context<'_>) -> Result<Option<Transfer>> {
        let Some(id) = self.model.transfer_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.transfers.load_one(id).await.map_err(load_err)?.map(Transfer))
    }
}

/// A page of `asset`'s journal, newest first.
pub async fn page(
    ctx: &Context<'_>,
    asset: &Asset,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<BalanceEntry>> {
    let r = req(ctx)?;
    let args = PageArgs { first, after, ..Default::default() };
    let scale = asset.currency.decimals;
    // The first page comes from one load for the whole page of assets; a
    // later page, or one with its total, is read alone.
    if args.after.is_some() || wants_total(ctx) {
        let page =
            crate::service::journal::page(r.db, r.principal.organization_id, asset.model.id, &args, wants_total(ctx))
                .await
                .gql()?;
        return Ok(connection(page, |model| BalanceEntry { model, scale }));
    }
    let page = args.validate(CursorField::At).gql()?;
    let rows = r.loaders.journal_by_asset.load_one((asset.model.id, page.limit + 1)).await.map_err(load_err)?;
    let sliced = newest_first_page(rows.unwrap_or_default(), &page, |m| (m.at, m.id));
    Ok(connection(sliced, |model| BalanceEntry { model, scale }))
}

/// The balance at the end of one bucket of a chart.
#[derive(SimpleObject)]
pub struct BalancePoint {
    /// The bucket's end (UTC).
    pub at: DateTime<Utc>,
    /// The balance then (zeros before the asset existed).
    pub balance: AssetBalance,
}

/// `asset`'s balance at the end of each `interval` bucket of `[from, to]`.
pub async fn history(
    ctx: &Context<'_>,
    asset: &Asset,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    interval: HistoryInterval,
) -> Result<Vec<BalancePoint>> {
    let key = (asset.model.id, from, to, interval);
    let points = req(ctx)?.loaders.charts.load_one(key).await.map_err(load_err)?.unwrap_or_default();
    let scale = asset.currency.decimals;
    let zero = rust_decimal::Decimal::ZERO;
    points
        .into_iter()
        .map(|(at, entry)| {
            let balance = match entry {
                Some(m) => AssetBalance::of(m.available.0, m.on_hold.0, m.future.0, m.credit_limit.0, scale),
                None => AssetBalance::of(zero, zero, zero, zero, scale),
            };
            Ok(BalancePoint { at, balance: balance.gql()? })
        })
        .collect()
}
