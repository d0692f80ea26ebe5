//! Assets: adding one per currency, activating, and moving balances
//! exactly once per idempotency key.

use crate::auth::Principal;
use crate::domain::balance::Balance;
use crate::domain::commands::{BalanceAdjustment, Checked, NewAsset};
use crate::domain::{movement, validate, AccountStatus, AssetStatus, BalanceCause, CurrencyType, Role};
use crate::error::{AppError, AppResult};
use crate::events::DomainEvent;
use crate::service::audit::{self, Action, Change};
use crate::service::store::{Store, WriteTx};
use crate::service::{account_write, catalog, journal, rows};
use entity::{account, asset, currency, idempotency_record, Amount};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The asset `id` of `org`, locked for update.
pub async fn lock_row<C: ConnectionTrait>(db: &C, org: Uuid, id: Uuid, field: &str) -> AppResult<asset::Model> {
    asset::Entity::find_by_id(id)
        .filter(asset::Column::OrganizationId.eq(org))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| AppError::missing(field, "asset"))
}

/// The asset `id` of `org`, locked for update, with its currency.
pub async fn lock<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    id: Uuid,
    field: &str,
) -> AppResult<(asset::Model, currency::Model)> {
    let a = lock_row(db, org, id, field).await?;
    let c = currency::Entity::find_by_id(a.currency_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("asset without currency"))?;
    Ok((a, c))
}

/// Inserts a new asset with its audit event and its journal's first row.
async fn insert_audited(
    tx: &WriteTx,
    who: &Principal,
    row: asset::ActiveModel,
    field: &str,
    cause: BalanceCause,
) -> AppResult<asset::Model> {
    let created = row.insert(&**tx).await.map_err(|e| AppError::from_unique(e, &[("currency_id", field)]))?;
    let deltas = [created.available.0, created.on_hold.0, created.future.0];
    let entry = journal::Entry { cause, idempotency_key: None, transfer_id: None, deltas };
    journal::append(&**tx, who, &created, entry, created.created_at).await?;
    let change = Change::created(Action::AssetAdded, created.id, Some(created.account_id), &created);
    audit::record(tx, who, change).await?;
    Ok(created)
}

/// Adds an asset to `account` inside `tx`; `cause` is what its initial
/// balance is recorded as in the journal.
pub async fn add_in(
    tx: &mut WriteTx,
    who: &Principal,
    account: &account::Model,
    cmd: &NewAsset,
    cause: BalanceCause,
) -> AppResult<(asset::Model, currency::Model)> {
    let org = who.organization_id;
    if account.deleted_at.is_some() {
        return Err(AppError::not_allowed("a deleted account cannot get assets"));
    }
    let cur = catalog::currency_by_code(&**tx, org, &cmd.currency, "currency").await?;
    let row = new_row(org, account.id, &cur, cmd, tx.now())?;
    let exists = asset::Entity::find()
        .filter(asset::Column::AccountId.eq(account.id))
        .filter(asset::Column::CurrencyId.eq(cur.id))
        .one(&**tx)
        .await?;
    if exists.is_some() {
        return Err(already_held(&cur));
    }
    Ok((insert_audited(tx, who, row, "currency", cause).await?, cur))
}

/// The event of `who`'s change to `after`'s balance (by `transfer`, when
/// one moved it), carrying the balance it left (the same amounts its
/// journal row records).
pub fn balance_changed(
    who: &Principal,
    after: &asset::Model,
    transfer: Option<Uuid>,
    at: chrono::DateTime<chrono::Utc>,
) -> DomainEvent {
    DomainEvent::BalanceChanged {
        organization_id: after.organization_id,
        account_id: after.account_id,
        asset_id: after.id,
        at,
        transfer_id: transfer,
        actor: Some(who.subject.clone()),
        balance: Some(crate::events::BalanceAfter {
            available: after.available.0,
            on_hold: after.on_hold.0,
            future: after.future.0,
            credit_limit: after.credit_limit.0,
        }),
    }
}

/// The CONFLICT of a second asset in `cur` on one account.
pub fn already_held(cur: &currency::Model) -> AppError {
    AppError::conflict("currency", format!("the account already has a {} asset", cur.code))
}

/// The row of a new (inactive) asset of `account_id` in `cur`, its amounts
/// and address checked against the currency.
pub fn new_row(
    org: Uuid,
    account_id: Uuid,
    cur: &currency::Model,
    cmd: &NewAsset,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<asset::ActiveModel> {
    let initial = validate::amount("initialBalance", cmd.initial_balance, cur.decimals, false)?;
    let credit = validate::amount("creditLimit", cmd.credit_limit, cur.decimals, false)?;
    let address = match cmd.address.as_deref() {
        Some(a) if CurrencyType::parse(&cur.currency_type)? == CurrencyType::Fiat => {
            Some(validate::iban("address", a)?)
        }
        Some(a) => Some(validate::text("address", a, 128)?),
        None => None,
    };
    let mut row = rows::asset(org, account_id, cur.id, AssetStatus::Inactive, at);
    row.available = Set(Amount(initial));
    row.credit_limit = Set(Amount(credit));
    row.address = Set(address);
    row.external_id = Set(cmd.external_id.clone());
    row.bank = Set(cmd.bank.clone());
    row.platform = Set(cmd.platform.clone());
    Ok(row)
}

/// The zero-balance, active asset of a new system account.
pub async fn insert_system_asset(
    tx: &mut WriteTx,
    who: &Principal,
    account: &account::Model,
    cur: &currency::Model,
) -> AppResult<asset::Model> {
    let row = rows::asset(who.organization_id, account.id, cur.id, AssetStatus::Active, tx.now());
    insert_audited(tx, who, row, "currency", BalanceCause::Initial).await
}

/// `addAsset`.
pub async fn add(
    store: &Store,
    who: &Principal,
    account_id: Uuid,
    cmd: &Checked<NewAsset>,
) -> AppResult<(asset::Model, currency::Model)> {
    who.require(Role::Operator)?;
    let mut tx = store.begin().await?;
    let acc = account_write::lock(&*tx, who.organization_id, account_id, "accountId").await?;
    let created = add_in(&mut tx, who, &acc, cmd, BalanceCause::Initial).await?;
    tx.commit().await?;
    Ok(created)
}

/// `setAssetStatus`.
pub async fn set_status(
    store: &Store,
    who: &Principal,
    id: Uuid,
    status: AssetStatus,
) -> AppResult<(asset::Model, currency::Model)> {
    who.require(Role::Operator)?;
    let tx = store.begin().await?;
    let (before, cur) = lock(&*tx, who.organization_id, id, "id").await?;
    live_account(&*tx, &before).await?;
    let mut m = before.clone().into_active_model();
    m.status = Set(status.as_str().into());
    m.version = Set(before.version + 1);
    m.updated_at = Set(tx.now());
    let after = m.update(&*tx).await?;
    let change = Change::changed(Action::AssetStatusChanged, id, Some(after.account_id), &before, &after);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok((after, cur))
}

/// The canonical fingerprint of an adjustment: the same key with another
/// payload is a conflict, not a replay.
fn request_hash(asset_id: Uuid, d: [Decimal; 3], reason: Option<&str>) -> String {
    let canon =
        format!("{asset_id}|{}|{}|{}|{}", d[0].normalize(), d[1].normalize(), d[2].normalize(), reason.unwrap_or(""));
    hex::encode(Sha256::digest(canon.as_bytes()))
}

/// The balance fields a replay returns, as first written.
#[derive(serde::Serialize, serde::Deserialize)]
struct Snapshot {
    available: Decimal,
    on_hold: Decimal,
    future: Decimal,
    credit_limit: Decimal,
    version: i32,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// The first answer of an adjustment already applied under `key` (of
/// `org`), as `before` then stood; CONFLICT when the key was used for
/// another request; `None` for a new key.
async fn replayed(
    tx: &WriteTx,
    org: Uuid,
    key: &str,
    hash: &str,
    before: &asset::Model,
) -> AppResult<Option<asset::Model>> {
    let prior = idempotency_record::Entity::find()
        .filter(idempotency_record::Column::OrganizationId.eq(org))
        .filter(idempotency_record::Column::Key.eq(key))
        .one(&**tx)
        .await?;
    let Some(rec) = prior else { return Ok(None) };
    if rec.request_hash != hash {
        return Err(AppError::conflict("idempotencyKey", "this key was used with another request"));
    }
    let snap: Snapshot = serde_json::from_value(rec.response).map_err(AppError::internal)?;
    Ok(Some(asset::Model {
        available: Amount(snap.available),
        on_hold: Amount(snap.on_hold),
        future: Amount(snap.future),
        credit_limit: Amount(snap.credit_limit),
        version: snap.version,
        updated_at: snap.updated_at,
        ..before.clone()
    }))
}

/// The deltas of `cmd` in `cur`'s decimals.
fn deltas(cmd: &BalanceAdjustment, cur: &currency::Model) -> AppResult<[Decimal; 3]> {
    let [a, h, f] = cmd.deltas();
    Ok([
        validate::amount(a.0, a.1, cur.decimals, true)?,
        validate::amount(h.0, h.1, cur.decimals, true)?,
        validate::amount(f.0, f.1, cur.decimals, true)?,
    ])
}

/// The account of `asset`, FOR SHARE: a concurrent deleteAccount (FOR
/// UPDATE) waits for this write, or this one sees the deletion; never both.
/// NOT_ALLOWED when the account is deleted: nothing of a deleted account
/// changes any more (its assets, wallets, balances).
pub async fn live_account<C: ConnectionTrait>(db: &C, asset: &asset::Model) -> AppResult<account::Model> {
    let acc = account::Entity::find_by_id(asset.account_id)
        .filter(account::Column::OrganizationId.eq(asset.organization_id))
        .lock_shared()
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("asset without account"))?;
    if acc.deleted_at.is_some() {
        return Err(AppError::not_allowed("the account is DELETED: its assets and wallets no longer change"));
    }
    Ok(acc)
}

/// What the movement rules read of `acc` and its `asset`.
pub fn holder(acc: &account::Model, asset: &asset::Model) -> AppResult<movement::Holder> {
    Ok(movement::Holder {
        status: AccountStatus::parse(&acc.status)?,
        allow_sending: acc.allow_sending,
        allow_receiving: acc.allow_receiving,
        asset_status: AssetStatus::parse(&asset.status)?,
    })
}

/// Writes what makes an applied adjustment replayable and traceable: the
/// idempotency record (the first answer), the journal row and the audit
/// event, which keeps the request (deltas, reason, key) beside the rows.
async fn record_adjustment(
    tx: &WriteTx,
    who: &Principal,
    cmd: &BalanceAdjustment,
    hash: String,
    deltas: [Decimal; 3],
    (before, after): (&asset::Model, &asset::Model),
) -> AppResult<()> {
    let at = after.updated_at;
    let snap = Snapshot {
        available: after.available.0,
        on_hold: after.on_hold.0,
        future: after.future.0,
        credit_limit: after.credit_limit.0,
        version: after.version,
        updated_at: at,
    };
    let response = serde_json::to_value(&snap).map_err(AppError::internal)?;
    let scope = format!("adjustBalance:{}", after.id);
    rows::idempotency_record(who.organization_id, &cmd.idempotency_key, scope, hash, response, at)
        .insert(&**tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("key", "idempotencyKey")]))?;
    let entry = journal::Entry {
        cause: BalanceCause::Adjustment,
        idempotency_key: Some(&cmd.idempotency_key),
        transfer_id: None,
        deltas,
    };
    journal::append(&**tx, who, after, entry, at).await?;
    let to_json = |v: &asset::Model| serde_json::to_value(v).map_err(AppError::internal);
    let mut after_json = to_json(after)?;
    after_json["adjustment"] = serde_json::json!({
        "available": deltas[0].to_string(), "onHold": deltas[1].to_string(), "future": deltas[2].to_string(),
        "reason": cmd.reason, "idempotencyKey": cmd.idempotency_key,
    });
    let before_json = to_json(before)?;
    let change =
        Change::changed(Action::AssetBalanceAdjusted, after.id, Some(after.account_id), &before_json, &after_json);
    audit::record(tx, who, change).await
}

/// `adjustBalance`: moves the balance fields by deltas, exactly once per
/// idempotency key, keeping `available + creditLimit >= 0` and the held
/// and future amounts non-negative. A replay returns the first result and
/// writes nothing.
pub async fn adjust(
    store: &Store,
    who: &Principal,
    id: Uuid,
    cmd: &Checked<BalanceAdjustment>,
) -> AppResult<(asset::Model, currency::Model)> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    // Lock the asset first: concurrent calls with one key then queue here
    // and the later one finds the first one's record.
    let (before, cur) = lock(&*tx, org, id, "assetId").await?;
    let deltas = deltas(cmd, &cur)?;
    let hash = request_hash(id, deltas, cmd.reason.as_deref());
    if let Some(replay) = replayed(&tx, org, &cmd.idempotency_key, &hash, &before).await? {
        return Ok((replay, cur));
    }
    if deltas.iter().all(|d| d.is_zero()) {
        return Err(AppError::invalid("", "give at least one non-zero delta"));
    }
    let acc = live_account(&*tx, &before).await?;
    movement::check_deltas(&holder(&acc, &before)?, deltas, "the account")?;
    let then = Balance { available: before.available.0, on_hold: before.on_hold.0, future: before.future.0 };
    let Balance { available, on_hold, future } = then.adjusted(deltas, before.credit_limit.0)?;
    let at = tx.now();
    let mut m = before.clone().into_active_model();
    m.available = Set(Amount(available));
    m.on_hold = Set(Amount(on_hold));
    m.future = Set(Amount(future));
    m.version = Set(before.version + 1);
    m.updated_at = Set(at);
    let after = m.update(&*tx).await?;
    record_adjustment(&tx, who, cmd, hash, deltas, (&before, &after)).await?;
    tx.emit(balance_changed(who, &after, None, at));
    tx.commit().await?;
    Ok((after, cur))
}
