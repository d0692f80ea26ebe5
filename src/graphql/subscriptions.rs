//! Subscriptions: committed status and balance changes, filtered by tenant
//! first, then by the caller's arguments. A subscriber that falls further
//! behind than the event buffer gets one error naming how many events it
//! lost, and its subscription ends.

use crate::domain::AccountStatus;
use crate::error::{AppError, ToGql};
use crate::events::{DomainEvent, Sequenced};
use crate::graphql::account_events::{self, AccountEvent, AccountEventKind, EventFilter};
use crate::graphql::accounts::{Account, StatusReason};
use crate::graphql::assets::{Asset, AssetBalance};
use crate::graphql::{load_err, req};
use async_graphql::{Context, Object, Result, Subscription};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream, StreamExt};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::RecvError};
use uuid::Uuid;

/// The events of one subscriber: ends at its credential's expiry, and with
/// one error when it lags behind.
fn events(
    rx: broadcast::Receiver<Arc<Sequenced>>,
    org: Uuid,
    expires_at: Option<DateTime<Utc>>,
    clock: crate::clock::Clock,
    metrics: crate::metrics::Metrics,
) -> impl Stream<Item = Result<Arc<Sequenced>, String>> + Send {
    stream::unfold(Some(rx), move |rx| {
        let (metrics, clock) = (metrics.clone(), clock.clone());
        async move {
            let mut rx = rx?;
            loop {
                match rx.recv().await {
                    Ok(_) if expires_at.is_some_and(|t| clock.now() >= t) => return None,
                    Ok(e) if e.organization_id() == org => return Some((Ok(e), Some(rx))),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(n)) => {
                        metrics.events_dropped(n);
                        return Some((
                            Err(format!("this subscriber fell {n} events behind and was ended; subscribe again")),
                            None,
                        ));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        }
    })
}

fn lagged(message: String) -> async_graphql::Error {
    AppError::LimitExceeded(message).to_graphql()
}

/// An account changed status.
pub struct AccountStatusEvent {
    account_id: Uuid,
    previous: AccountStatus,
    status: AccountStatus,
    reason: Option<(Option<String>, Option<String>)>,
    actor: String,
    at: DateTime<Utc>,
}

#[Object]
impl AccountStatusEvent {
    /// The account, as it is now.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let a = req(ctx)?.loaders.accounts.load_one(self.account_id).await.map_err(load_err)?;
        a.map(Account).ok_or_else(|| AppError::missing("account", "account").to_graphql())
    }
    /// The status before.
    async fn previous_status(&self) -> AccountStatus {
        self.previous
    }
    /// The status after.
    async fn status(&self) -> AccountStatus {
        self.status
    }
    /// The reason given with the change.
    async fn reason(&self) -> Option<StatusReason> {
        self.reason.clone().map(|(code, description)| StatusReason { code, description, changed_at: self.at })
    }
    /// Who made the change.
    async fn actor(&self) -> &str {
        &self.actor
    }
    /// When it committed.
    async fn at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// An asset's balance changed.
pub struct BalanceEvent {
    account_id: Uuid,
    asset_id: Uuid,
    at: DateTime<Utc>,
    /// The balance the change left; `None` for an event written before
    /// events carried it.
    after: Option<crate::events::BalanceAfter>,
}

impl BalanceEvent {
    async fn load_asset(&self, ctx: &Context<'_>) -> Result<Asset> {
        let rows = req(ctx)?.loaders.asset_by_id.load_one(self.asset_id).await.map_err(load_err)?;
        let (model, currency) =
            rows.and_then(|mut v| v.pop()).ok_or_else(|| AppError::missing("asset", "asset").to_graphql())?;
        Ok(Asset { model, currency })
    }
}

#[Object]
impl BalanceEvent {
    /// The account holding the asset.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let a = req(ctx)?.loaders.accounts.load_one(self.account_id).await.map_err(load_err)?;
        a.map(Account).ok_or_else(|| AppError::missing("account", "account").to_graphql())
    }
    /// The asset, as it is now.
    async fn asset(&self, ctx: &Context<'_>) -> Result<Asset> {
        self.load_asset(ctx).await
    }
    /// The asset's balance right after this change (each event of a burst
    /// its own), at the currency's scale.
    async fn balance(&self, ctx: &Context<'_>) -> Result<AssetBalance> {
        let asset = self.load_asset(ctx).await?;
        match self.after {
            Some(b) => {
                AssetBalance::of(b.available, b.on_hold, b.future, b.credit_limit, asset.currency.decimals).gql()
            }
            None => asset.balance_now().gql(),
        }
    }
    /// When it committed.
    async fn at(&self) -> DateTime<Utc> {
        self.at
    }
}

/// The root subscription.
#[derive(Default)]
pub struct SubscriptionRoot;

/// The caller's events that `pick` turns into items, plus the lag error.
fn subscribe<T, F>(ctx: &Context<'_>, pick: F) -> Result<impl Stream<Item = Result<T>> + use<T, F>>
where
    T: Send + 'static,
    F: Fn(&DomainEvent) -> Option<T> + Send + Sync + 'static,
{
    let r = req(ctx)?;
    let rx = r.store.events.subscribe();
    let metrics = r.store.events.metrics().clone();
    let (org, clock) = (r.principal.organization_id, r.store.clock.clone());
    let stream = events(rx, org, r.principal.expires_at, clock, metrics).filter_map(move |e| {
        let item = match e {
            Err(m) => Some(Err(lagged(m))),
            Ok(e) => pick(&e.event).map(Ok),
        };
        async move { item }
    });
    Ok(stream)
}

#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every committed change to the accounts the viewer can see, in
    /// commit order per account. With `after`, the events committed after
    /// that cursor are sent first (from retained history), then live ones,
    /// with no gap and no duplicate; a cursor older than the retention is
    /// an EVENTS_EXPIRED error (read the state again, then subscribe
    /// without `after`).
    async fn account_events(
        &self,
        ctx: &Context<'_>,
        account_id: Option<Uuid>,
        owner_id: Option<Uuid>,
        kinds: Option<Vec<AccountEventKind>>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<AccountEvent>>> {
        account_events::stream(ctx, EventFilter { account_id, owner_id, kinds }, after).await
    }

    /// Fires after a status change commits. With no argument: every account the viewer can see.
    async fn account_status_changed(
        &self,
        ctx: &Context<'_>,
        account_id: Option<Uuid>,
        owner_id: Option<Uuid>,
    ) -> Result<impl Stream<Item = Result<AccountStatusEvent>>> {
        subscribe(ctx, move |e| match e {
            DomainEvent::AccountStatusChanged {
                account_id: a,
                owner_id: o,
                previous,
                status,
                reason_code,
                reason_description,
                actor,
                at,
                ..
            } if account_id.is_none_or(|want| want == *a) && owner_id.is_none_or(|want| Some(want) == *o) => {
                let reason = (reason_code.is_some() || reason_description.is_some())
                    .then(|| (reason_code.clone(), reason_description.clone()));
                Some(AccountStatusEvent {
                    account_id: *a,
                    previous: *previous,
                    status: *status,
                    reason,
                    actor: actor.clone(),
                    at: *at,
                })
            }
            _ => None,
        })
    }

    /// Fires after a balance adjustment commits.
    async fn balance_changed(
        &self,
        ctx: &Context<'_>,
        account_id: Option<Uuid>,
    ) -> Result<impl Stream<Item = Result<BalanceEvent>>> {
        subscribe(ctx, move |e| match e {
            DomainEvent::BalanceChanged { account_id: a, asset_id, at, balance, .. }
                if account_id.is_none_or(|want| want == *a) =>
            {
                Some(BalanceEvent { account_id: *a, asset_id: *asset_id, at: *at, after: *balance })
            }
            _ => None,
        })
    }
}
