//! Creating and changing accounts: every rule of the contract, each change
//! in one transaction with its audit event.

use crate::auth::Principal;
use crate::domain::account_number::account_number;
use crate::domain::inputs::{BankAccountInput, CreateAccountInput, StatusReasonInput, UpdateAccountInput};
use crate::domain::{status, validate, AccountKind, AccountStatus, BalanceCause, Role, SystemRole};
use crate::error::{AppError, AppResult};
use crate::events::DomainEvent;
use crate::service::audit::{self, Action, Change};
use crate::service::store::{Store, WriteTx};
use crate::service::{asset_write, organizations};
use async_graphql::MaybeUndefined;
use entity::{account, account_type, asset, client, currency, project};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
    TryInsertResult,
};
use uuid::Uuid;

/// The account type of system accounts, created on demand.
const SYSTEM_TYPE: &str = "SYSTEM";

/// How deep sub-accounts may nest (a top-level account is level 1).
pub const MAX_LEVELS: i32 = 5;

/// Unique columns of `accounts` and the input fields they come from.
fn unique_fields(prefix: &str) -> Vec<(&'static str, String)> {
    vec![("alias", format!("{prefix}alias")), ("external_id", format!("{prefix}externalId"))]
}

fn conflict(err: sea_orm::DbErr, prefix: &str) -> AppError {
    let fields = unique_fields(prefix);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(c, f)| (*c, f.as_str())).collect();
    AppError::from_unique(err, &pairs)
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

/// The type of a CLIENT account, by code: the SYSTEM type is reserved for
/// system accounts.
async fn type_by_code<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    code: &str,
    field: &str,
) -> AppResult<account_type::Model> {
    let code = validate::code(field, code, 50)?;
    if code == SYSTEM_TYPE {
        return Err(AppError::invalid(field, "the SYSTEM type is reserved for system accounts"));
    }
    account_type::Entity::find()
        .filter(account_type::Column::OrganizationId.eq(org))
        .filter(account_type::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| AppError::invalid(field, "no account type with this code"))
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
    prefix: &str,
) -> AppResult<()> {
    if let Some(a) = alias {
        if taken(db, org, account::Column::Alias, a, except).await? {
            return Err(AppError::conflict(format!("{prefix}alias"), "this alias is already in use"));
        }
    }
    if let Some(e) = external_id {
        if taken(db, org, account::Column::ExternalId, e, except).await? {
            return Err(AppError::conflict(format!("{prefix}externalId"), "this external id is already in use"));
        }
    }
    Ok(())
}

async fn owner<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    input: &CreateAccountInput,
    prefix: &str,
) -> AppResult<client::Model> {
    let by_id = match input.owner_id {
        Some(id) => Some(
            client::Entity::find_by_id(id)
                .filter(client::Column::OrganizationId.eq(org))
                .one(db)
                .await?
                .ok_or_else(|| AppError::missing(format!("{prefix}ownerId"), "client"))?,
        ),
        None => None,
    };
    let by_ext = match input.owner_external_id.as_deref() {
        Some(ext) => Some(
            client::Entity::find()
                .filter(client::Column::OrganizationId.eq(org))
                .filter(client::Column::ExternalId.eq(ext))
                .one(db)
                .await?
                .ok_or_else(|| AppError::missing(format!("{prefix}ownerExternalId"), "client"))?,
        ),
        None => None,
    };
    match (by_id, by_ext) {
        (Some(a), Some(b)) if a.id != b.id => {
            Err(AppError::invalid(format!("{prefix}ownerExternalId"), "names another client than ownerId"))
        }
        (Some(a), _) | (None, Some(a)) => Ok(a),
        (None, None) => Err(AppError::invalid(format!("{prefix}ownerId"), "a client account needs an owner")),
    }
}

/// Creates an account (and its optional assets) inside `tx`; `prefix` is
/// how input fields are named in errors (`input.`, or a row's in imports).
pub async fn create_in(
    tx: &mut WriteTx,
    who: &Principal,
    input: &CreateAccountInput,
    prefix: &str,
    cause: BalanceCause,
) -> AppResult<account::Model> {
    let org = who.organization_id;
    let f = |name: &str| format!("{prefix}{name}");
    let name = validate::text(&f("name"), &input.name, 100)?;
    let alias = validate::handle(&f("alias"), input.alias.as_deref())?;
    let external_id = validate::handle(&f("externalId"), input.external_id.as_deref())?;
    let product_id = validate::optional(&f("productId"), input.product_id.as_deref(), 100)?;
    let custody = validate::optional(&f("custody"), input.custody.as_deref(), 100)?;
    let bank_account = match &input.custody_bank_account {
        Some(b) => Some(bank_account(&**tx, org, b, &f("custodyBankAccount.")).await?),
        None => None,
    };
    let metadata = validate::metadata(&f("metadata"), input.metadata.clone().map(|j| j.0))?;
    let status = input.status.unwrap_or(AccountStatus::Pending);
    if status == AccountStatus::Deleted {
        return Err(AppError::invalid(f("status"), "an account cannot be created deleted"));
    }
    let ty = type_by_code(&**tx, org, &input.account_type, &f("type")).await?;
    let owner = owner(&**tx, org, input, prefix).await?;
    let parent = match input.parent_id {
        None => None,
        Some(pid) => {
            // FOR SHARE: a concurrent deleteAccount of the parent (FOR
            // UPDATE) either waits for this child and sees it, or is seen
            // here as deleted; never a live child under a deleted parent.
            let p = account::Entity::find_by_id(pid)
                .filter(account::Column::OrganizationId.eq(org))
                .lock_shared()
                .one(&**tx)
                .await?
                .ok_or_else(|| AppError::missing(f("parentId"), "parent account"))?;
            if p.deleted_at.is_some() {
                return Err(AppError::not_allowed("the parent account is deleted"));
            }
            if p.owner_id != Some(owner.id) {
                return Err(AppError::invalid(f("parentId"), "the parent account belongs to another owner"));
            }
            if p.depth + 1 >= MAX_LEVELS {
                return Err(AppError::invalid(f("parentId"), format!("sub-accounts nest at most {MAX_LEVELS} levels")));
            }
            Some(p)
        }
    };
    if let Some(pid) = input.project_id {
        let found = project::Entity::find_by_id(pid).filter(project::Column::OrganizationId.eq(org)).one(&**tx).await?;
        if found.is_none() {
            return Err(AppError::missing(f("projectId"), "project"));
        }
    }
    ensure_free(&**tx, org, alias.as_deref(), external_id.as_deref(), None, prefix).await?;
    let uid = organizations::reserve_uids(&**tx, org, 1).await?;
    let at = tx.now();
    let mut model = new_account(org, uid, name, ty.id, AccountKind::Client, status, at);
    model.alias = Set(alias);
    model.external_id = Set(external_id);
    model.project_id = Set(input.project_id);
    model.owner_id = Set(Some(owner.id));
    model.parent_id = Set(parent.as_ref().map(|p| p.id));
    model.depth = Set(parent.as_ref().map_or(0, |p| p.depth + 1));
    model.product_id = Set(product_id);
    model.allow_sending = Set(input.allow_sending.unwrap_or(true));
    model.allow_receiving = Set(input.allow_receiving.unwrap_or(true));
    model.main = Set(input.main.unwrap_or(false));
    model.accounting = Set(input.accounting.unwrap_or(false));
    model.custody = Set(custody);
    model.custody_bank_account = Set(bank_account);
    model.metadata = Set(metadata);
    if input.main == Some(true) {
        take_main(tx, who, owner.id, None).await?;
    }
    let created = model.insert(&**tx).await.map_err(|e| conflict(e, prefix))?;
    let change = Change::created(Action::AccountCreated, created.id, Some(created.id), &created);
    audit::record(tx, who, change).await?;
    for (i, a) in input.assets.iter().flatten().enumerate() {
        asset_write::add_in(tx, who, &created, a, &format!("{prefix}assets.{i}."), cause).await?;
    }
    Ok(created)
}

/// A validated custody bank account, as stored: its currency must be one
/// the organization knows.
async fn bank_account<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    input: &BankAccountInput,
    prefix: &str,
) -> AppResult<serde_json::Value> {
    let f = |name: &str| format!("{prefix}{name}");
    let number = validate::text(&f("accountNumber"), &input.account_number, 50)?;
    let bank = validate::text(&f("bank"), &input.bank, 100)?;
    let code = validate::code(&f("currency"), &input.currency, 10)?;
    let known = currency::Entity::find()
        .filter(currency::Column::OrganizationId.eq(org))
        .filter(currency::Column::Code.eq(code.clone()))
        .one(db)
        .await?;
    if known.is_none() {
        return Err(AppError::invalid(f("currency"), "no currency with this code"));
    }
    let type_account = validate::optional(&f("typeAccount"), input.type_account.as_deref(), 50)?;
    let country = match input.country.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => Some(c.to_ascii_uppercase()),
        Some(_) => return Err(AppError::invalid(f("country"), "must be an ISO 3166-1 alpha-2 code, like DE")),
    };
    Ok(serde_json::json!({
        "accountNumber": number,
        "bank": bank,
        "currency": code,
        "typeAccount": type_account,
        "country": country,
    }))
}

/// Takes the main flag from the owner's other live accounts, each change
/// audited. Serialized on the owner's row, so two accounts made main at
/// once still leave one.
async fn take_main(tx: &WriteTx, who: &Principal, owner: Uuid, except: Option<Uuid>) -> AppResult<()> {
    let (org, db) = (who.organization_id, &**tx);
    client::Entity::find_by_id(owner).filter(client::Column::OrganizationId.eq(org)).lock_exclusive().one(db).await?;
    let mut q = account::Entity::find()
        .filter(account::Column::OrganizationId.eq(org))
        .filter(account::Column::OwnerId.eq(owner))
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

/// A new account row with every column set: live, top-level, with
/// nothing optional, stamped `at` (system accounts are `accounting`).
/// Callers set what differs; the one place the whole row is spelled out.
pub fn new_account(
    org: Uuid,
    uid: i64,
    name: String,
    type_id: Uuid,
    kind: AccountKind,
    status: AccountStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> account::ActiveModel {
    account::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        uid: Set(uid),
        account_number: Set(account_number(uid)),
        name: Set(name),
        alias: Set(None),
        type_id: Set(type_id),
        kind: Set(kind.as_str().into()),
        system_role: Set(None),
        system_key: Set(None),
        status: Set(status.as_str().into()),
        status_reason_code: Set(None),
        status_reason_description: Set(None),
        status_changed_at: Set(at),
        external_id: Set(None),
        project_id: Set(None),
        owner_id: Set(None),
        parent_id: Set(None),
        depth: Set(0),
        product_id: Set(None),
        allow_sending: Set(true),
        allow_receiving: Set(true),
        main: Set(false),
        accounting: Set(kind == AccountKind::System),
        custody: Set(None),
        custody_bank_account: Set(None),
        metadata: Set(serde_json::json!({})),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    }
}

/// `createAccount`.
pub async fn create(store: &Store, who: &Principal, input: &CreateAccountInput) -> AppResult<account::Model> {
    who.require(Role::Operator)?;
    let mut tx = store.begin().await?;
    let created = create_in(&mut tx, who, input, "input.", BalanceCause::Initial).await?;
    tx.commit().await?;
    Ok(created)
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

/// `updateAccount`: the editable fields only; the owner never changes.
pub async fn update(
    store: &Store,
    who: &Principal,
    id: Uuid,
    input: &UpdateAccountInput,
    expected_version: Option<i32>,
) -> AppResult<account::Model> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    let before = lock(&*tx, org, id, "id").await?;
    if before.deleted_at.is_some() {
        return Err(AppError::not_allowed("a deleted account cannot be changed"));
    }
    check_version(&before, expected_version)?;
    let mut m = before.clone().into_active_model();
    if let Some(name) = &input.name {
        m.name = Set(validate::text("input.name", name, 100)?);
    }
    let clearable = |field: &str, v: &MaybeUndefined<String>| -> AppResult<Option<Option<String>>> {
        match v {
            MaybeUndefined::Undefined => Ok(None),
            MaybeUndefined::Null => Ok(Some(None)),
            MaybeUndefined::Value(s) => validate::handle(field, Some(s)).map(Some),
        }
    };
    let alias = clearable("input.alias", &input.alias)?;
    let external_id = clearable("input.externalId", &input.external_id)?;
    ensure_free(
        &*tx,
        org,
        alias.clone().flatten().as_deref(),
        external_id.clone().flatten().as_deref(),
        Some(id),
        "input.",
    )
    .await?;
    if let Some(a) = alias {
        m.alias = Set(a);
    }
    if let Some(e) = external_id {
        m.external_id = Set(e);
    }
    match &input.product_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => m.product_id = Set(None),
        MaybeUndefined::Value(p) => m.product_id = Set(validate::optional("input.productId", Some(p), 100)?),
    }
    if let Some(code) = &input.account_type {
        if AccountKind::parse(&before.kind)? == AccountKind::System {
            return Err(AppError::not_allowed("a system account's type cannot change"));
        }
        m.type_id = Set(type_by_code(&*tx, org, code, "input.type").await?.id);
    }
    match &input.custody_bank_account {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => m.custody_bank_account = Set(None),
        MaybeUndefined::Value(b) => {
            m.custody_bank_account = Set(Some(bank_account(&*tx, org, b, "input.custodyBankAccount.").await?));
        }
    }
    if let Some(v) = input.allow_sending {
        m.allow_sending = Set(v);
    }
    if let Some(v) = input.allow_receiving {
        m.allow_receiving = Set(v);
    }
    if let Some(v) = input.main {
        if v && !before.main {
            if let Some(owner) = before.owner_id {
                take_main(&tx, who, owner, Some(id)).await?;
            }
        }
        m.main = Set(v);
    }
    if let Some(meta) = &input.metadata {
        m.metadata = Set(validate::metadata("input.metadata", Some(meta.0.clone()))?);
    }
    m.version = Set(before.version + 1);
    m.updated_at = Set(tx.now());
    let after = m.update(&*tx).await.map_err(|e| conflict(e, "input."))?;
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
    reason: Option<&StatusReasonInput>,
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
    let (code, description) = StatusReasonInput::checked(reason)?;
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
    reason: Option<&StatusReasonInput>,
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
    let after = change_status(store, &mut tx, who, before, AccountStatus::Deleted, None).await?;
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
            let code = validate::code("currency", c, 10)?;
            let found = currency::Entity::find()
                .filter(currency::Column::OrganizationId.eq(org))
                .filter(currency::Column::Code.eq(code.clone()))
                .one(&store.db)
                .await?;
            Some(found.ok_or_else(|| AppError::invalid("currency", "no currency with this code"))?)
        }
        None => None,
    };
    let key = format!("{}:{}", role.as_str(), cur.as_ref().map_or("", |c| c.code.as_str()));
    let find = || {
        account::Entity::find()
            .filter(account::Column::OrganizationId.eq(org))
            .filter(account::Column::SystemKey.eq(key.clone()))
    };
    if let Some(existing) = find().one(&store.db).await? {
        return Ok(existing);
    }
    let mut tx = store.begin().await?;
    let ty = system_type(&tx, org).await?;
    let uid = organizations::reserve_uids(&*tx, org, 1).await?;
    let at = tx.now();
    let name = match &cur {
        Some(c) => format!("{} {}", role.as_str(), c.code),
        None => role.as_str().to_owned(),
    };
    let mut row = new_account(org, uid, name, ty, AccountKind::System, AccountStatus::Active, at);
    row.system_role = Set(Some(role.as_str().into()));
    row.system_key = Set(Some(key.clone()));
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

/// The organization's SYSTEM account type, created on first use.
async fn system_type(tx: &WriteTx, org: Uuid) -> AppResult<Uuid> {
    let db = &**tx;
    let find = || {
        account_type::Entity::find()
            .filter(account_type::Column::OrganizationId.eq(org))
            .filter(account_type::Column::Code.eq(SYSTEM_TYPE))
    };
    if let Some(t) = find().one(db).await? {
        return Ok(t.id);
    }
    let t = account_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        code: Set(SYSTEM_TYPE.into()),
        name: Set("System".into()),
        category: Set(None),
        created_at: Set(tx.now()),
    };
    // Concurrent first callers all insert; one row wins and everyone reads
    // it (a plain insert would fail the losers with a unique violation).
    account_type::Entity::insert(t)
        .on_conflict_do_nothing_on([account_type::Column::OrganizationId, account_type::Column::Code])
        .exec_without_returning(db)
        .await?;
    let t = find().one(db).await?.ok_or_else(|| AppError::internal("the SYSTEM account type vanished"))?;
    Ok(t.id)
}
