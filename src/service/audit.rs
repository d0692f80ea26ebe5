//! The audit trail: every change writes one event in its own transaction.

use crate::auth::Principal;
use crate::domain::filter::AuditCondition;
use crate::domain::paging::{CursorField, PageArgs, SortValue};
use crate::error::{AppError, AppResult};
use crate::events::{ChangeKind, DomainEvent};
use crate::service::paging::{fetch_page, PageResult, SortSpec};
use crate::service::store::WriteTx;
use chrono::{DateTime, Utc};
use entity::audit_event;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use uuid::Uuid;

/// What happened: the trail's `action`, which also names the kind of row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `account.created`.
    AccountCreated,
    /// `account.updated`.
    AccountUpdated,
    /// `account.status_changed`.
    AccountStatusChanged,
    /// `account.deleted`.
    AccountDeleted,
    /// `asset.added`.
    AssetAdded,
    /// `asset.status_changed`.
    AssetStatusChanged,
    /// `asset.balance_adjusted`.
    AssetBalanceAdjusted,
    /// `wallet.added`.
    WalletAdded,
    /// `wallet.activated`.
    WalletActivated,
    /// `wallet.deactivated`.
    WalletDeactivated,
    /// `smart_card.issued`.
    SmartCardIssued,
    /// `smart_card.activated`.
    SmartCardActivated,
    /// `smart_card.deactivated`.
    SmartCardDeactivated,
    /// `client.created`.
    ClientCreated,
    /// `client.updated`.
    ClientUpdated,
    /// `account_type.created`.
    AccountTypeCreated,
    /// `currency.created`.
    CurrencyCreated,
    /// `network.created`.
    NetworkCreated,
    /// `project.created`.
    ProjectCreated,
    /// `transfer.completed`.
    TransferCompleted,
}

impl Action {
    /// The stored and public spelling (`account.created`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AccountCreated => "account.created",
            Action::AccountUpdated => "account.updated",
            Action::AccountStatusChanged => "account.status_changed",
            Action::AccountDeleted => "account.deleted",
            Action::AssetAdded => "asset.added",
            Action::AssetStatusChanged => "asset.status_changed",
            Action::AssetBalanceAdjusted => "asset.balance_adjusted",
            Action::WalletAdded => "wallet.added",
            Action::WalletActivated => "wallet.activated",
            Action::WalletDeactivated => "wallet.deactivated",
            Action::SmartCardIssued => "smart_card.issued",
            Action::SmartCardActivated => "smart_card.activated",
            Action::SmartCardDeactivated => "smart_card.deactivated",
            Action::ClientCreated => "client.created",
            Action::ClientUpdated => "client.updated",
            Action::AccountTypeCreated => "account_type.created",
            Action::CurrencyCreated => "currency.created",
            Action::NetworkCreated => "network.created",
            Action::ProjectCreated => "project.created",
            Action::TransferCompleted => "transfer.completed",
        }
    }

    /// The kind of row it happened to.
    pub fn entity(self) -> EntityKind {
        use Action as A;
        match self {
            A::AccountCreated | A::AccountUpdated | A::AccountStatusChanged | A::AccountDeleted => EntityKind::Account,
            A::AssetAdded | A::AssetStatusChanged | A::AssetBalanceAdjusted => EntityKind::Asset,
            A::WalletAdded | A::WalletActivated | A::WalletDeactivated => EntityKind::Wallet,
            A::SmartCardIssued | A::SmartCardActivated | A::SmartCardDeactivated => EntityKind::SmartCard,
            A::ClientCreated | A::ClientUpdated => EntityKind::Client,
            A::AccountTypeCreated => EntityKind::AccountType,
            A::CurrencyCreated => EntityKind::Currency,
            A::NetworkCreated => EntityKind::Network,
            A::ProjectCreated => EntityKind::Project,
            A::TransferCompleted => EntityKind::Transfer,
        }
    }
}

/// The kinds of row the trail records changes of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntityKind {
    /// An account.
    Account,
    /// An asset.
    Asset,
    /// A wallet.
    Wallet,
    /// A smart card.
    SmartCard,
    /// A client.
    Client,
    /// An account type.
    AccountType,
    /// A currency.
    Currency,
    /// A network.
    Network,
    /// A project.
    Project,
    /// A transfer between two assets.
    Transfer,
}

impl EntityKind {
    /// The stored and public spelling (`ACCOUNT`, `SMART_CARD`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Account => "ACCOUNT",
            EntityKind::Asset => "ASSET",
            EntityKind::Wallet => "WALLET",
            EntityKind::SmartCard => "SMART_CARD",
            EntityKind::Client => "CLIENT",
            EntityKind::AccountType => "ACCOUNT_TYPE",
            EntityKind::Currency => "CURRENCY",
            EntityKind::Network => "NETWORK",
            EntityKind::Project => "PROJECT",
            EntityKind::Transfer => "TRANSFER",
        }
    }
}

/// What changed, for one audit event.
pub struct Change<'a, T: Serialize> {
    /// What happened.
    pub action: Action,
    /// The changed row.
    pub entity_id: Uuid,
    /// The account concerned, when there is one.
    pub account_id: Option<Uuid>,
    /// The row before (None on create).
    pub before: Option<&'a T>,
    /// The row after.
    pub after: Option<&'a T>,
}

impl<'a, T: Serialize> Change<'a, T> {
    /// A row that came into being.
    pub fn created(action: Action, entity_id: Uuid, account_id: Option<Uuid>, after: &'a T) -> Self {
        Change { action, entity_id, account_id, before: None, after: Some(after) }
    }

    /// A row that changed from `before` to `after`.
    pub fn changed(action: Action, entity_id: Uuid, account_id: Option<Uuid>, before: &'a T, after: &'a T) -> Self {
        Change { action, entity_id, account_id, before: Some(before), after: Some(after) }
    }
}

/// The row of one audit event by `who` at `at`.
pub fn event_row<T: Serialize>(
    who: &Principal,
    change: Change<'_, T>,
    at: DateTime<Utc>,
) -> AppResult<audit_event::ActiveModel> {
    // A snapshot that cannot be written is an error, never a silent null.
    let json = |v: Option<&T>| v.map(serde_json::to_value).transpose().map_err(AppError::internal);
    Ok(audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(who.organization_id),
        at: Set(at),
        actor: Set(who.subject.clone()),
        action: Set(change.action.as_str().to_owned()),
        entity_type: Set(change.action.entity().as_str().to_owned()),
        entity_id: Set(change.entity_id),
        account_id: Set(change.account_id),
        before: Set(json(change.before)?),
        after: Set(json(change.after)?),
    })
}

/// Writes one audit event inside `tx`, at its time, and queues the
/// account event it makes.
pub async fn record<T: Serialize>(tx: &WriteTx, who: &Principal, change: Change<'_, T>) -> AppResult<()> {
    let row = event_row(who, change, tx.now())?;
    if let Some(event) = account_event(&row) {
        tx.emit(event);
    }
    row.insert(&**tx).await?;
    Ok(())
}

/// The account stream's kind of an audited action. Status changes,
/// deletions, balance adjustments and transfers have none here: they queue
/// richer events of their own, with the state they left.
fn change_kind(action: &str) -> Option<ChangeKind> {
    use Action as A;
    const KINDS: [(Action, ChangeKind); 10] = [
        (A::AccountCreated, ChangeKind::Created),
        (A::AccountUpdated, ChangeKind::Updated),
        (A::AssetAdded, ChangeKind::AssetAdded),
        (A::AssetStatusChanged, ChangeKind::AssetStatusChanged),
        (A::WalletAdded, ChangeKind::WalletAdded),
        (A::WalletActivated, ChangeKind::WalletChanged),
        (A::WalletDeactivated, ChangeKind::WalletChanged),
        (A::SmartCardIssued, ChangeKind::CardIssued),
        (A::SmartCardActivated, ChangeKind::CardChanged),
        (A::SmartCardDeactivated, ChangeKind::CardChanged),
    ];
    KINDS.into_iter().find(|(a, _)| a.as_str() == action).map(|(_, kind)| kind)
}

/// The account event an audit row makes, if its change is one the account
/// stream reports in these terms (see [`change_kind`]).
pub fn account_event(row: &audit_event::ActiveModel) -> Option<DomainEvent> {
    let kind = change_kind(row.action.try_as_ref()?)?;
    let account_id = (*row.account_id.try_as_ref()?)?;
    let entity_id = *row.entity_id.try_as_ref()?;
    Some(DomainEvent::AccountChanged {
        organization_id: *row.organization_id.try_as_ref()?,
        account_id,
        kind,
        subject_id: (entity_id != account_id).then_some(entity_id),
        actor: row.actor.try_as_ref()?.clone(),
        at: *row.at.try_as_ref()?,
    })
}

/// One page of audit events, newest first; `account` limits it to one
/// account's trail (its own events and those of its assets, wallets, cards).
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    conditions: &[AuditCondition],
    account: Option<Uuid>,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<PageResult<audit_event::Model>> {
    use audit_event::Column as E;
    let page = args.validate(CursorField::At)?;
    let mut c = Condition::all().add(E::OrganizationId.eq(org));
    if let Some(id) = account {
        c = c.add(E::AccountId.eq(id));
    }
    for cond in conditions {
        c = c.add(match cond {
            AuditCondition::EntityId(id) => E::EntityId.eq(*id),
            AuditCondition::EntityType(t) => E::EntityType.eq(t.clone()),
            AuditCondition::Action(a) => E::Action.eq(a.clone()),
            AuditCondition::From(from) => E::At.gte(*from),
            AuditCondition::To(to) => E::At.lte(*to),
        });
    }
    let spec = SortSpec { field: CursorField::At, column: E::At, id: E::Id, desc: true };
    fetch_page(db, audit_event::Entity::find().filter(c), &spec, &page, |m| (SortValue::Time(m.at), m.id), with_total)
        .await
}
