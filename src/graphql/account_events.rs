//! `accountEvents`: every committed change to the viewer's accounts, in
//! order, resumable after a cursor (the feed in `service::event_feed`
//! does the ordering, replay and hand-over; this file filters and shapes).

use crate::domain::AccountStatus;
use crate::error::{AppError, AppResult, ToGql};
use crate::events::{BalanceAfter, ChangeKind, DomainEvent, Sequenced};
use crate::graphql::accounts::Account;
use crate::graphql::assets::{asset_of, AssetBalance, SmartCard, Wallet};
use crate::graphql::transfers::Transfer;
use crate::graphql::{load_err, req};
use crate::service::event_feed::{self, Feed};
use async_graphql::{Context, Enum, Object, Result};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, Stream};
use uuid::Uuid;

/// What happened to an account.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum AccountEventKind {
    /// The account was created.
    Created,
    /// Its editable fields changed.
    Updated,
    /// Its status changed (not to DELETED).
    StatusChanged,
    /// It was deleted.
    Deleted,
    /// An asset was added.
    AssetAdded,
    /// An asset's status changed.
    AssetStatusChanged,
    /// An asset's balance changed (an adjustment or a transfer).
    BalanceChanged,
    /// A wallet was added.
    WalletAdded,
    /// A wallet was activated or deactivated.
    WalletChanged,
    /// A smart card was issued.
    CardIssued,
    /// A smart card was activated or deactivated.
    CardChanged,
}

/// One committed change to an account or what it holds.
pub struct AccountEvent {
    seq: i64,
    kind: AccountEventKind,
    account_id: Uuid,
    /// The asset, wallet or card the change was to.
    subject_id: Option<Uuid>,
    transfer_id: Option<Uuid>,
    statuses: Option<(AccountStatus, AccountStatus)>,
    balance: Option<BalanceAfter>,
    actor: String,
    at: DateTime<Utc>,
}

impl AccountEvent {
    fn of(e: &Sequenced) -> AccountEvent {
        let base = |kind, subject_id, actor: &str, at| AccountEvent {
            seq: e.seq,
            kind,
            account_id: e.account_id(),
            subject_id,
            transfer_id: None,
            statuses: None,
            balance: None,
            actor: actor.to_owned(),
            at,
        };
        match &e.event {
            DomainEvent::AccountStatusChanged { previous, status, actor, at, .. } => {
                let kind = match status {
                    AccountStatus::Deleted => AccountEventKind::Deleted,
                    _ => AccountEventKind::StatusChanged,
                };
                AccountEvent { statuses: Some((*previous, *status)), ..base(kind, None, actor, *at) }
            }
            DomainEvent::BalanceChanged { asset_id, at, balance, transfer_id, actor, .. } => AccountEvent {
                transfer_id: *transfer_id,
                balance: *balance,
                ..base(AccountEventKind::BalanceChanged, Some(*asset_id), actor.as_deref().unwrap_or(""), *at)
            },
            DomainEvent::AccountChanged { kind, subject_id, actor, at, .. } => {
                base(kind_of(*kind), *subject_id, actor, *at)
            }
        }
    }

    fn is(&self, kinds: &[AccountEventKind]) -> bool {
        kinds.contains(&self.kind)
    }
}

fn kind_of(kind: ChangeKind) -> AccountEventKind {
    match kind {
        ChangeKind::Created => AccountEventKind::Created,
        ChangeKind::Updated => AccountEventKind::Updated,
        ChangeKind::AssetAdded => AccountEventKind::AssetAdded,
        ChangeKind::AssetStatusChanged => AccountEventKind::AssetStatusChanged,
        ChangeKind::WalletAdded => AccountEventKind::WalletAdded,
        ChangeKind::WalletChanged => AccountEventKind::WalletChanged,
        ChangeKind::CardIssued => AccountEventKind::CardIssued,
        ChangeKind::CardChanged => AccountEventKind::CardChanged,
    }
}

impl AccountEvent {
    /// The wallet of a wallet event, found among its account's assets'.
    async fn find_wallet(&self, ctx: &Context<'_>) -> Result<Option<Wallet>> {
        let (Some(id), AccountEventKind::WalletAdded | AccountEventKind::WalletChanged) = (self.subject_id, self.kind)
        else {
            return Ok(None);
        };
        let l = &req(ctx)?.loaders;
        let assets = l.assets_by_account.load_one(self.account_id).await.map_err(load_err)?.unwrap_or_default();
        let wallets = l.wallets_by_asset.load_many(assets.iter().map(|(a, _)| a.id)).await.map_err(load_err)?;
        let found = wallets.into_values().flatten().find(|(w, _)| w.id == id);
        Ok(found.map(|(model, network)| Wallet { model, network }))
    }
}

#[Object]
impl AccountEvent {
    /// Opaque and ordered: pass it as `after` to resume from this event.
    async fn cursor(&self) -> String {
        event_feed::cursor(self.seq)
    }
    /// What happened.
    async fn kind(&self) -> AccountEventKind {
        self.kind
    }
    /// The account, as it is now.
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let a = req(ctx)?.loaders.accounts.load_one(self.account_id).await.map_err(load_err)?;
        a.map(Account).ok_or_else(|| AppError::missing("account", "account").to_graphql())
    }
    /// The asset of an asset or balance event (and of a wallet event: the
    /// wallet's), as it is now.
    async fn asset(&self, ctx: &Context<'_>) -> Result<Option<crate::graphql::assets::Asset>> {
        use AccountEventKind as K;
        match (self.kind, self.subject_id) {
            (K::AssetAdded | K::AssetStatusChanged | K::BalanceChanged, Some(id)) => asset_of(ctx, id).await.map(Some),
            (K::WalletAdded | K::WalletChanged, _) => match self.find_wallet(ctx).await? {
                Some(w) => asset_of(ctx, w.model.asset_id).await.map(Some),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }
    /// The wallet of a wallet event, as it is now.
    async fn wallet(&self, ctx: &Context<'_>) -> Result<Option<Wallet>> {
        self.find_wallet(ctx).await
    }
    /// The card of a card event, as it is now.
    async fn card(&self, ctx: &Context<'_>) -> Result<Option<SmartCard>> {
        let (Some(id), AccountEventKind::CardIssued | AccountEventKind::CardChanged) = (self.subject_id, self.kind)
        else {
            return Ok(None);
        };
        let cards = req(ctx)?.loaders.cards_by_account.load_one(self.account_id).await.map_err(load_err)?;
        Ok(cards.unwrap_or_default().into_iter().find(|c| c.id == id).map(SmartCard))
    }
    /// For BALANCE_CHANGED caused by a transfer.
    async fn transfer(&self, ctx: &Context<'_>) -> Result<Option<Transfer>> {
        let Some(id) = self.transfer_id else { return Ok(None) };
        Ok(req(ctx)?.loaders.transfers.load_one(id).await.map_err(load_err)?.map(Transfer))
    }
    /// For STATUS_CHANGED and DELETED: the status before.
    async fn previous_status(&self) -> Option<AccountStatus> {
        self.statuses.map(|(before, _)| before)
    }
    /// For STATUS_CHANGED and DELETED: the status the change left.
    async fn status(&self) -> Option<AccountStatus> {
        self.statuses.map(|(_, after)| after)
    }
    /// For BALANCE_CHANGED: the balance right after the change, at the
    /// currency's scale.
    async fn balance(&self, ctx: &Context<'_>) -> Result<Option<AssetBalance>> {
        let (Some(b), Some(id)) = (self.balance, self.subject_id) else { return Ok(None) };
        let decimals = asset_of(ctx, id).await?.currency.decimals;
        AssetBalance::of(b.available, b.on_hold, b.future, b.credit_limit, decimals).gql().map(Some)
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

/// What a subscriber asked for.
pub struct EventFilter {
    /// Only this account's events.
    pub account_id: Option<Uuid>,
    /// Only events of accounts of this owner.
    pub owner_id: Option<Uuid>,
    /// Only these kinds.
    pub kinds: Option<Vec<AccountEventKind>>,
}

impl EventFilter {
    /// The next event of `feed` this filter lets through.
    async fn next(&self, feed: &mut Feed) -> AppResult<Option<AccountEvent>> {
        while let Some(e) = feed.next().await? {
            let event = AccountEvent::of(&e);
            if self.kinds.as_deref().is_some_and(|k| !event.is(k))
                || self.account_id.is_some_and(|want| want != event.account_id)
            {
                continue;
            }
            if let Some(want) = self.owner_id {
                let owner = match &e.event {
                    DomainEvent::AccountStatusChanged { owner_id, .. } => *owner_id,
                    _ => feed.owner_of(event.account_id).await?,
                };
                if owner != Some(want) {
                    continue;
                }
            }
            return Ok(Some(event));
        }
        Ok(None)
    }
}

/// The stream of `accountEvents`: ends at the credential's expiry (by the
/// store's clock), and after its first error.
pub async fn stream(
    ctx: &Context<'_>,
    filter: EventFilter,
    after: Option<String>,
) -> Result<impl Stream<Item = Result<AccountEvent>> + use<>> {
    let r = req(ctx)?;
    let after = after.as_deref().map(|c| event_feed::parse_cursor(c, "after")).transpose().gql()?;
    let feed = Feed::open(r.store, r.principal.organization_id, after).await.gql()?;
    let (clock, expires_at) = (r.store.clock.clone(), r.principal.expires_at);
    Ok(stream::unfold(Some((feed, filter)), move |state| {
        let clock = clock.clone();
        async move {
            let (mut feed, filter) = state?;
            match filter.next(&mut feed).await {
                Ok(Some(_)) if expires_at.is_some_and(|t| clock.now() >= t) => None,
                Ok(Some(event)) => Some((Ok(event), Some((feed, filter)))),
                Ok(None) => None,
                Err(e) => Some((Err(e.to_graphql()), None)),
            }
        }
    }))
}
