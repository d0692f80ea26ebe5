//! Creating and changing accounts: every rule of the contract, each change
//! in one transaction with its audit event.

use crate::auth::Principal;
use crate::domain::commands::{AccountChanges, BankAccount, Checked, NewAccountType, StatusReason, SYSTEM_TYPE};
use crate::domain::{status, validate, AccountKind, AccountStatus, Role, SystemRole};
use crate::error::{AppError, AppResult};
use crate::events::DomainEvent;
use crate::service::audit::{self, Action, Change};
use crate::service::store::{Store, WriteTx};
use crate::service::{asset_write, catalog, organizations, rows};
use chrono::{DateTime, Utc};
use entity::{account, account_type, asset, client};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
    TryInsertResult,
};
use uuid::Uuid;

/// How deep sub-accounts may nest (a top-level account is level 1).
pub const MAX_LEVELS: i32 = 5;

/// A unique violation on `accounts`, on the command field of its column.
pub(crate) fn conflict(err: sea_orm::DbErr) -> AppError {
    AppError::from_unique(err, &[("alias", "alias"), ("external_id", "externalId")])
}

/// The account `id` of `org`, locked for update, or NOT_FOUND on `field`.
pub async fn lock<C: ConnectionTrait>(db: &C, org: Uuid, id: Uuid, field: &str) -> AppResult<account::Model> {
    account::Entity::find_by_id(id)
        .filter(account::Column::OrganizationId.eq(org))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| AppError::missing(field, "account"))
}

/// The account type of a checked (client) type code.
async fn type_by_code<C: ConnectionTrait>(db: &C, org: Uuid, code: &str) -> AppResult<account_type::Model> {
    account_type::Entity::find()
        .filter(account_type::Column::OrganizationId.eq(org))
        .filter(account_type::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| AppError::invalid("type", "no account type with this code"))
}

async fn taken<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    col: account::Column,
    value: &str,
    except: Option<Uuid>,
) -> AppResult<bool> {
    let mut q = account::Entity::find().filter(account::Column::OrganizationId.eq(org)).filter(col.eq(value));
    if let Some(id) = except {
        q = q.filter(account::Column::Id.ne(id));
    }
    Ok(q.one(db).await?.is_some())
}

async fn ensure_free<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    alias: Option<&str>,
    external_id: Option<&str>,
    except: Option<Uuid>,
) -> AppResult<()> {
    if let Some(a) = alias {
        if taken(db, org, account::Column::Alias, a, except).await? {
            return Err(AppError::conflict("alias", "this alias is already in use"));
        }
    }
    if let Some(e) = external_id {
        if taken(db, org, account::Column::ExternalId, e, except).await? {
            return Err(AppError::conflict("externalId", "this external id is already in use"));
        }
    }
    Ok(())
}

/// A custody bank account as stored: its currency must be one the
/// organization knows (an error names `custodyBankAccount.currency`).
async fn bank_account<C: ConnectionTrait>(db: &C, org: Uuid, b: &BankAccount) -> AppResult<serde_json::Value> {
    let known = catalog::currency_by_code(db, org, &b.currency, "currency").await;
    known.map_err(|e| e.within("custodyBankAccount", &[]))?;
    Ok(b.to_json())
}

/// Takes the main flag from the `owners`' other live accounts (all but
/// `except`), each change audited. Serialized on the owners' rows, so two
/// accounts made main at once still leave one.
pub(crate) async fn take_main(tx: &WriteTx, who: &Principal, owners: &[Uuid], except: Option<Uuid>) -> AppResult<()> {
    if owners.is_empty() {
        return Ok(());
    }
    let (org, db) = (who.organization_id, &**tx);
    let owners = owners.to_vec();
    let mine = client::Entity::find().filter(client::Column::OrganizationId.eq(org));
    mine.filter(client::Column::Id.is_in(owners.clone())).lock_exclusive().all(db).await?;
    let mut q = account::Entity::find()
        .filter(account::Column::OrganizationId.eq(org))
        .filter(account::Column::OwnerId.is_in(owners))
        .filter(account::Column::Main.eq(true))
        .filter(account::Column::DeletedAt.is_null());
    if let Some(id) = except {
        q = q.filter(account::Column::Id.ne(id));
    }
    for before in q.lock_exclusive().all(db).await? {
        let mut m = before.clone().into_active_model();
        m.main = Set(false);
        m.version = Set(before.version + 1);
        m.updated_at = Set(tx.now());
        let after = m.update(db).await?;
        let change = Change::changed(Action::AccountUpdated, after.id, Some(after.id), &before, &after);
        audit::record(tx, who, change).await?;
    }
    Ok(())
}

fn check_version(current: &account::Model, expected: Option<i32>) -> AppResult<()> {
    match expected {
        Some(v) if v != current.version => Err(AppError::conflict(
            "expectedVersion",
            format!("the account is at version {}, not {v}", current.version),
        )),
        _ => Ok(()),
    }
}

/// Which of `ids` are live (not deleted) accounts of `org`: what a wallet
/// account reference may name.
pub(crate) async fn live_accounts<C: ConnectionTrait>(db: &C, org: Uuid, ids: Vec<Uuid>) -> AppResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let q = account::Entity::find().select_only().column(account::Column::Id);
    let q = q.filter(account::Column::OrganizationId.eq(org)).filter(account::Column::DeletedAt.is_null());
    Ok(q.filter(account::Column::Id.is_in(ids)).into_tuple::<Uuid>().all(db).await?)
}

/// Applies `ch` to the row `m` of `before`: the lookups (type, bank
/// currency, uniqueness) and the main flag's move happen here.
async fn apply_changes(
    tx: &WriteTx,
    who: &Principal,
    before: &account::Model,
    ch: &AccountChanges,
    m: &mut account::ActiveModel,
) -> AppResult<()> {
    let (org, id) = (who.organization_id, before.id);
    let alias = ch.alias.change().map(|a| a.cloned());
    let external_id = ch.external_id.change().map(|e| e.cloned());
    let (free_alias, free_ext) = (alias.clone().flatten(), external_id.clone().flatten());
    ensure_free(&**tx, org, free_alias.as_deref(), free_ext.as_deref(), Some(id)).await?;
    if let Some(name) = &ch.name {
        m.name = Set(name.clone());
    }
    if let Some(a) = alias {
        m.alias = Set(a);
    }
    if let Some(e) = external_id {
        m.external_id = Set(e);
    }
    if let Some(p) = ch.product_id.change() {
        m.product_id = Set(p.cloned());
    }
    if let Some(w) = ch.wallet_account_id.change() {
        let id = w.copied();
        if id.is_some_and(|id| id != before.id) && live_accounts(&**tx, org, id.into_iter().collect()).await?.is_empty()
        {
            return Err(AppError::missing("walletAccountId", "account"));
        }
        m.wallet_account_id = Set(id);
    }
    if let Some(code) = &ch.account_type {
        if AccountKind::parse(&before.kind)? == AccountKind::System {
            return Err(AppError::not_allowed("a system account's type cannot change"));
        }
        m.type_id = Set(type_by_code(&**tx, org, code).await?.id);
    }
    if let Some(b) = ch.custody_bank_account.change() {
        let stored = match b {
            Some(b) => Some(bank_account(&**tx, org, b).await?),
            None => None,
        };
        m.custody_bank_account = Set(stored);
    }
    if let Some(v) = ch.allow_sending {
        m.allow_sending = Set(v);
    }
    if let Some(v) = ch.allow_receiving {
        m.allow_receiving = Set(v);
    }
    if let Some(v) = ch.main {
        if let (true, false, Some(owner)) = (v, before.main, before.owner_id) {
            take_main(tx, who, &[owner], Some(id)).await?;
        }
        m.main = Set(v);
    }
    if let Some(meta) = &ch.metadata {
        m.metadata = Set(meta.clone());
    }
    Ok(())
}

/// `updateAccount`: the editable fields only; the owner never changes.
pub async fn update(
    store: &Store,
    who: &Principal,
    id: Uuid,
    ch: &Checked<AccountChanges>,
    expected_version: Option<i32>,
) -> AppResult<account::Model> {
    who.require(Role::Operator)?;
    let tx = store.begin().await?;
    let before = lock(&*tx, who.organization_id, id, "id").await?;
    if before.deleted_at.is_some() {
        return Err(AppError::not_allowed("a deleted account cannot be changed"));
    }
    check_version(&before, expected_version)?;
    let mut m = before.clone().into_active_model();
    apply_changes(&tx, who, &before, ch, &mut m).await?;
    m.version = Set(before.version + 1);
    m.updated_at = Set(tx.now());
    let after = m.update(&*tx).await.map_err(conflict)?;
    let change = Change::changed(Action::AccountUpdated, id, Some(id), &before, &after);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok(after)
}

async fn nonzero_balance<C: ConnectionTrait>(db: &C, account_id: Uuid) -> AppResult<bool> {
    let assets = asset::Entity::find().filter(asset::Column::AccountId.eq(account_id)).all(db).await?;
    Ok(assets.iter().any(|a| !(a.available.0.is_zero() && a.on_hold.0.is_zero() && a.future.0.is_zero())))
}

/// Changes the status inside `tx`, with the deletion rules when the target
/// is DELETED, and queues the event.
async fn change_status(
    store: &Store,
    tx: &mut WriteTx,
    who: &Principal,
    before: account::Model,
    to: AccountStatus,
    reason: &Checked<StatusReason>,
) -> AppResult<account::Model> {
    let from = AccountStatus::parse(&before.status)?;
    status::check(store.policy.transitions, from, to)?;
    if to == AccountStatus::Deleted {
        if store.policy.forbid_account_deletion {
            return Err(AppError::not_allowed("account deletion is not permitted by policy"));
        }
        if nonzero_balance(&**tx, before.id).await? {
            return Err(AppError::not_allowed("an account holding a non-zero balance cannot be deleted"));
        }
        let live_children = account::Entity::find()
            .filter(account::Column::ParentId.eq(before.id))
            .filter(account::Column::DeletedAt.is_null())
            .one(&**tx)
            .await?;
        if live_children.is_some() {
            return Err(AppError::not_allowed("an account with live sub-accounts cannot be deleted"));
        }
    }
    let (code, description) = (reason.code.clone(), reason.description.clone());
    let at = tx.now();
    let mut m = before.clone().into_active_model();
    m.status = Set(to.as_str().into());
    m.status_reason_code = Set(code.clone());
    m.status_reason_description = Set(description.clone());
    m.status_changed_at = Set(at);
    m.version = Set(before.version + 1);
    m.updated_at = Set(at);
    if to == AccountStatus::Deleted {
        m.deleted_at = Set(Some(at));
    }
    let after = m.update(&**tx).await?;
    let action = if to == AccountStatus::Deleted { Action::AccountDeleted } else { Action::AccountStatusChanged };
    let change = Change::changed(action, after.id, Some(after.id), &before, &after);
    audit::record(tx, who, change).await?;
    tx.emit(DomainEvent::AccountStatusChanged {
        organization_id: after.organization_id,
        account_id: after.id,
        owner_id: after.owner_id,
        previous: from,
        status: to,
        reason_code: code,
        reason_description: description,
        actor: who.subject.clone(),
        at,
    });
    Ok(after)
}

/// `setAccountStatus`.
pub async fn set_status(
    store: &Store,
    who: &Principal,
    id: Uuid,
    to: AccountStatus,
    reason: &Checked<StatusReason>,
    expected_version: Option<i32>,
) -> AppResult<account::Model> {
    who.require(Role::Operator)?;
    let mut tx = store.begin().await?;
    let before = lock(&*tx, who.organization_id, id, "id").await?;
    check_version(&before, expected_version)?;
    let after = change_status(store, &mut tx, who, before, to, reason).await?;
    tx.commit().await?;
    Ok(after)
}

/// `deleteAccount`: a soft delete.
pub async fn delete(store: &Store, who: &Principal, id: Uuid) -> AppResult<account::Model> {
    who.require(Role::Operator)?;
    let mut tx = store.begin().await?;
    let before = lock(&*tx, who.organization_id, id, "id").await?;
    let no_reason = StatusReason::default().check()?;
    let after = change_status(store, &mut tx, who, before, AccountStatus::Deleted, &no_reason).await?;
    tx.commit().await?;
    Ok(after)
}

/// `systemAccount`: get or create the organization's account of `role`
/// (and `currency`). Concurrent callers agree on one row: the insert does
/// nothing on a conflicting `system_key` and everyone reads the winner.
pub async fn system_account(
    store: &Store,
    who: &Principal,
    role: SystemRole,
    currency: Option<&str>,
) -> AppResult<account::Model> {
    // The role first: a caller who may not create system accounts learns
    // nothing about existing ones through this mutation either.
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let cur = match currency {
        Some(c) => {
            Some(catalog::currency_by_code(&store.db, org, &validate::code("currency", c, 10)?, "currency").await?)
        }
        None => None,
    };
    let code = cur.as_ref().map(|c| c.code.as_str());
    let key = rows::system_key(role, code);
    let find = || {
        account::Entity::find()
            .filter(account::Column::OrganizationId.eq(org))
            .filter(account::Column::SystemKey.eq(key.clone()))
    };
    if let Some(existing) = find().one(&store.db).await? {
        return Ok(existing);
    }
    let mut tx = store.begin().await?;
    let ty = system_type(&*tx, org, tx.now()).await?;
    let uid = organizations::reserve_uids(&*tx, org, 1).await?;
    let row = rows::system_account(org, uid, ty, role, code, tx.now());
    let outcome = account::Entity::insert(row)
        .on_conflict_do_nothing_on([account::Column::OrganizationId, account::Column::SystemKey])
        .exec_without_returning(&*tx)
        .await?;
    let inserted = matches!(outcome, TryInsertResult::Inserted(n) if n > 0);
    let created = find().one(&*tx).await?.ok_or_else(|| AppError::internal("system account vanished"))?;
    if inserted {
        let change = Change::created(Action::AccountCreated, created.id, Some(created.id), &created);
        audit::record(&tx, who, change).await?;
        if let Some(c) = &cur {
            asset_write::insert_system_asset(&mut tx, who, &created, c).await?;
        }
    }
    tx.commit().await?;
    Ok(created)
}

/// The organization's SYSTEM account type, created on first use (`at`).
pub async fn system_type<C: ConnectionTrait>(db: &C, org: Uuid, at: DateTime<Utc>) -> AppResult<Uuid> {
    let find = || {
        account_type::Entity::find()
            .filter(account_type::Column::OrganizationId.eq(org))
            .filter(account_type::Column::Code.eq(SYSTEM_TYPE))
    };
    if let Some(t) = find().one(db).await? {
        return Ok(t.id);
    }
    let system = NewAccountType { code: SYSTEM_TYPE.into(), name: "System".into(), category: None };
    // Concurrent first callers all insert; one row wins and everyone reads
    // it (a plain insert would fail the losers with a unique violation).
    account_type::Entity::insert(rows::account_type(org, &system.check()?, at))
        .on_conflict_do_nothing_on([account_type::Column::OrganizationId, account_type::Column::Code])
        .exec_without_returning(db)
        .await?;
    let t = find().one(db).await?.ok_or_else(|| AppError::internal("the SYSTEM account type vanished"))?;
    Ok(t.id)
}
