//! Assets: adding one per currency, activating, and moving balances
//! exactly once per idempotency key.

use crate::auth::Principal;
use crate::domain::balance::Balance;
use crate::domain::inputs::{AddAssetInput, BalanceAdjustmentInput};
use crate::domain::{validate, AssetStatus, BalanceCause, CurrencyType, Role};
use crate::error::{AppError, AppResult};
use crate::events::DomainEvent;
use crate::service::audit::{self, Action, Change};
use crate::service::store::{Store, WriteTx};
use crate::service::{account_write, journal};
use entity::{account, asset, currency, idempotency_record, Amount};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

async fn currency_by_code<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    code: &str,
    field: &str,
) -> AppResult<currency::Model> {
    let code = validate::code(field, code, 10)?;
    currency::Entity::find()
        .filter(currency::Column::OrganizationId.eq(org))
        .filter(currency::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| AppError::invalid(field, "no currency with this code"))
}

/// The asset `id` of `org`, locked for update, with its currency.
pub async fn lock<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    id: Uuid,
    field: &str,
) -> AppResult<(asset::Model, currency::Model)> {
    let a = asset::Entity::find_by_id(id)
        .filter(asset::Column::OrganizationId.eq(org))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| AppError::missing(field, "asset"))?;
    let c = currency::Entity::find_by_id(a.currency_id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::internal("asset without currency"))?;
    Ok((a, c))
}

/// A zero-balance asset row, stamped `at`.
pub fn new_asset(
    org: Uuid,
    account_id: Uuid,
    currency_id: Uuid,
    status: AssetStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> asset::ActiveModel {
    asset::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        account_id: Set(account_id),
        currency_id: Set(currency_id),
        status: Set(status.as_str().into()),
        available: Set(Amount(Decimal::ZERO)),
        on_hold: Set(Amount(Decimal::ZERO)),
        future: Set(Amount(Decimal::ZERO)),
        credit_limit: Set(Amount(Decimal::ZERO)),
        address: Set(None),
        external_id: Set(None),
        bank: Set(None),
        platform: Set(None),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
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
    journal::append(&**tx, who, &created, cause, None, deltas, created.created_at).await?;
    let change = Change::created(Action::AssetAdded, created.id, Some(created.account_id), &created);
    audit::record(tx, who, change).await?;
    Ok(created)
}

/// Adds an asset to `account` inside `tx`; `prefix` names input fields and
/// `cause` is what its initial balance is recorded as in the journal.
pub async fn add_in(
    tx: &mut WriteTx,
    who: &Principal,
    account: &account::Model,
    input: &AddAssetInput,
    prefix: &str,
    cause: BalanceCause,
) -> AppResult<(asset::Model, currency::Model)> {
    let org = who.organization_id;
    let f = |name: &str| format!("{prefix}{name}");
    if account.deleted_at.is_some() {
        return Err(AppError::not_allowed("a deleted account cannot get assets"));
    }
    let cur = currency_by_code(&**tx, org, &input.currency, &f("currency")).await?;
    let initial =
        validate::amount(&f("initialBalance"), input.initial_balance.unwrap_or_default().0, cur.decimals, false)?;
    let credit = validate::amount(&f("creditLimit"), input.credit_limit.unwrap_or_default().0, cur.decimals, false)?;
    let address = match input.address.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) if cur.currency_type == CurrencyType::Fiat.as_str() => Some(validate::iban(&f("address"), a)?),
        Some(a) => Some(validate::text(&f("address"), a, 128)?),
        None => None,
    };
    let exists = asset::Entity::find()
        .filter(asset::Column::AccountId.eq(account.id))
        .filter(asset::Column::CurrencyId.eq(cur.id))
        .one(&**tx)
        .await?;
    if exists.is_some() {
        return Err(AppError::conflict(f("currency"), format!("the account already has a {} asset", cur.code)));
    }
    let mut row = new_asset(org, account.id, cur.id, AssetStatus::Inactive, tx.now());
    row.available = Set(Amount(initial));
    row.credit_limit = Set(Amount(credit));
    row.address = Set(address);
    row.external_id = Set(validate::handle(&f("externalId"), input.external_id.as_deref())?);
    row.bank = Set(validate::optional(&f("bank"), input.bank.as_deref(), 100)?);
    row.platform = Set(validate::optional(&f("platform"), input.platform.as_deref(), 100)?);
    Ok((insert_audited(tx, who, row, &f("currency"), cause).await?, cur))
}

/// The zero-balance, active asset of a new system account.
pub async fn insert_system_asset(
    tx: &mut WriteTx,
    who: &Principal,
    account: &account::Model,
    cur: &currency::Model,
) -> AppResult<asset::Model> {
    let row = new_asset(who.organization_id, account.id, cur.id, AssetStatus::Active, tx.now());
    insert_audited(tx, who, row, "currency", BalanceCause::Initial).await
}

/// `addAsset`.
pub async fn add(
    store: &Store,
    who: &Principal,
    account_id: Uuid,
    input: &AddAssetInput,
) -> AppResult<(asset::Model, currency::Model)> {
    who.require(Role::Operator)?;
    let mut tx = store.begin().await?;
    let acc = account_write::lock(&*tx, who.organization_id, account_id, "accountId").await?;
    let created = add_in(&mut tx, who, &acc, input, "input.", BalanceCause::Initial).await?;
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
        return Err(AppError::conflict("input.idempotencyKey", "this key was used with another request"));
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

/// `adjustBalance`: moves the balance fields by deltas, exactly once per
/// idempotency key, keeping `available + creditLimit >= 0` and the held
/// and future amounts non-negative. A replay returns the first result and
/// writes nothing.
pub async fn adjust(
    store: &Store,
    who: &Principal,
    id: Uuid,
    input: &BalanceAdjustmentInput,
) -> AppResult<(asset::Model, currency::Model)> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let key = validate::text("input.idempotencyKey", &input.idempotency_key, 200)?;
    let reason = validate::optional("input.reason", input.reason.as_deref(), 500)?;
    let mut tx = store.begin().await?;
    // Lock the asset first: concurrent calls with one key then queue here
    // and the later one finds the first one's record.
    let (before, cur) = lock(&*tx, org, id, "assetId").await?;
    let deltas = [
        validate::amount("input.available", input.available.unwrap_or_default().0, cur.decimals, true)?,
        validate::amount("input.onHold", input.on_hold.unwrap_or_default().0, cur.decimals, true)?,
        validate::amount("input.future", input.future.unwrap_or_default().0, cur.decimals, true)?,
    ];
    let hash = request_hash(id, deltas, reason.as_deref());
    if let Some(replay) = replayed(&tx, org, &key, &hash, &before).await? {
        return Ok((replay, cur));
    }
    if deltas.iter().all(|d| d.is_zero()) {
        return Err(AppError::invalid("input", "give at least one non-zero delta"));
    }
    if before.status != AssetStatus::Active.as_str() {
        return Err(AppError::not_allowed("the asset is INACTIVE: activate it before moving its balance"));
    }
    // FOR SHARE: a concurrent deleteAccount (FOR UPDATE) waits for this
    // adjustment, or this one sees the deletion; never both.
    let acc = account::Entity::find_by_id(before.account_id)
        .lock_shared()
        .one(&*tx)
        .await?
        .ok_or_else(|| AppError::internal("asset without account"))?;
    if acc.deleted_at.is_some() {
        return Err(AppError::not_allowed("the account is deleted"));
    }
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
    let snap = Snapshot {
        available,
        on_hold,
        future,
        credit_limit: after.credit_limit.0,
        version: after.version,
        updated_at: at,
    };
    idempotency_record::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        key: Set(key),
        scope: Set(format!("adjustBalance:{id}")),
        request_hash: Set(hash),
        response: Set(serde_json::to_value(&snap).map_err(AppError::internal)?),
        created_at: Set(at),
    }
    .insert(&*tx)
    .await
    .map_err(|e| AppError::from_unique(e, &[("key", "input.idempotencyKey")]))?;
    journal::append(&*tx, who, &after, BalanceCause::Adjustment, Some(&input.idempotency_key), deltas, at).await?;
    // The trail keeps the request (deltas, reason, key) beside the rows.
    let to_json = |v: &asset::Model| serde_json::to_value(v).map_err(AppError::internal);
    let mut after_json = to_json(&after)?;
    after_json["adjustment"] = serde_json::json!({
        "available": deltas[0].to_string(), "onHold": deltas[1].to_string(), "future": deltas[2].to_string(),
        "reason": reason, "idempotencyKey": input.idempotency_key,
    });
    let before_json = to_json(&before)?;
    let change = Change::changed(Action::AssetBalanceAdjusted, id, Some(after.account_id), &before_json, &after_json);
    audit::record(&tx, who, change).await?;
    tx.emit(DomainEvent::BalanceChanged { organization_id: org, account_id: after.account_id, asset_id: id, at });
    tx.commit().await?;
    Ok((after, cur))
}
