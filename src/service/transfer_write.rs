//! `transfer`: money from one asset to another of the same currency and
//! organization, in one transaction, exactly once per idempotency key.
//!
//! Every asset it touches is locked in id order before anything is read
//! for the rules, so opposite transfers between two accounts queue instead
//! of deadlocking, and concurrent replays of one key find the first one's
//! row. Both sides obey the movement rules (`domain::movement`); the sender
//! keeps `available + creditLimit >= 0`.

use crate::auth::Principal;
use crate::domain::balance::Balance;
use crate::domain::commands::{Checked, NewTransfer};
use crate::domain::movement::{self, Direction};
use crate::domain::{validate, BalanceCause, Role, SystemRole};
use crate::error::{AppError, AppResult};
use crate::service::asset_write::{self, holder, live_account, lock_row};
use crate::service::audit::{self, Action, Change};
use crate::service::store::{Store, WriteTx};
use crate::service::{journal, rows};
use entity::{account, asset, currency, transfer, Amount};
use rust_decimal::Decimal;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The canonical fingerprint of a transfer request: the same key with
/// another input is a conflict, not a replay.
fn request_hash(cmd: &NewTransfer) -> String {
    let canon = serde_json::json!([
        cmd.from_asset_id,
        cmd.to_asset_id,
        cmd.amount.normalize().to_string(),
        cmd.fee.map(|f| f.normalize().to_string()),
        cmd.reason,
        cmd.metadata,
    ]);
    hex::encode(Sha256::digest(canon.to_string().as_bytes()))
}

/// The transfer already made under `cmd`'s key, or CONFLICT when the key
/// was used with another input.
async fn replayed(tx: &WriteTx, org: Uuid, cmd: &NewTransfer) -> AppResult<Option<transfer::Model>> {
    let prior = transfer::Entity::find()
        .filter(transfer::Column::OrganizationId.eq(org))
        .filter(transfer::Column::IdempotencyKey.eq(cmd.idempotency_key.clone()))
        .one(&**tx)
        .await?;
    match prior {
        Some(t) if t.request_hash != request_hash(cmd) => {
            Err(AppError::conflict("idempotencyKey", "this key was used with another transfer"))
        }
        other => Ok(other),
    }
}

/// The asset `id` of `org`, unlocked, to learn its currency before locking.
async fn peek(tx: &WriteTx, org: Uuid, id: Uuid, field: &str) -> AppResult<asset::Model> {
    asset::Entity::find_by_id(id)
        .filter(asset::Column::OrganizationId.eq(org))
        .one(&**tx)
        .await?
        .ok_or_else(|| AppError::missing(field, "asset"))
}

/// The asset of the organization's FEE_PAYER account in `cur`.
async fn fee_payer_asset(tx: &WriteTx, org: Uuid, cur: &currency::Model) -> AppResult<asset::Model> {
    let missing = || {
        AppError::invalid(
            "fee",
            format!("the organization has no FEE_PAYER account for {0}: create it with systemAccount(role: FEE_PAYER, currency: \"{0}\")", cur.code),
        )
    };
    let payer = account::Entity::find()
        .filter(account::Column::OrganizationId.eq(org))
        .filter(account::Column::SystemKey.eq(rows::system_key(SystemRole::FeePayer, Some(&cur.code))))
        .one(&**tx)
        .await?
        .ok_or_else(missing)?;
    asset::Entity::find()
        .filter(asset::Column::OrganizationId.eq(org))
        .filter(asset::Column::AccountId.eq(payer.id))
        .filter(asset::Column::CurrencyId.eq(cur.id))
        .one(&**tx)
        .await?
        .ok_or_else(missing)
}

/// One side of a transfer, locked, with the rules' view of it.
struct Side {
    before: asset::Model,
    account: account::Model,
}

/// Locks `ids` in ascending order (the order every transfer uses) and
/// checks each side's account; returns them in the order given.
async fn lock_sides(tx: &WriteTx, org: Uuid, ids: &[(Uuid, &'static str)]) -> AppResult<Vec<Side>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| ids[i].0);
    let mut locked: Vec<Option<Side>> = (0..ids.len()).map(|_| None).collect();
    for i in order {
        let before = lock_row(&**tx, org, ids[i].0, ids[i].1).await?;
        let account = live_account(&**tx, &before).await?;
        locked[i] = Some(Side { before, account });
    }
    locked.into_iter().map(|s| s.ok_or_else(|| AppError::internal("a transfer side was not locked"))).collect()
}

/// `side`'s asset after its available moves by `delta`, within its limits;
/// errors name the transfer's `amount`.
fn moved(side: &asset::Model, delta: Decimal, at: chrono::DateTime<chrono::Utc>) -> AppResult<asset::Model> {
    let then = Balance { available: side.available.0, on_hold: side.on_hold.0, future: side.future.0 };
    let after = then
        .adjusted([delta, Decimal::ZERO, Decimal::ZERO], side.credit_limit.0)
        .map_err(|e| AppError::invalid("amount", e.to_string()))?;
    Ok(asset::Model { available: Amount(after.available), version: side.version + 1, updated_at: at, ..side.clone() })
}

/// Writes `after` over its row.
async fn save(tx: &WriteTx, before: &asset::Model, after: &asset::Model) -> AppResult<()> {
    let mut m = before.clone().into_active_model();
    m.available = Set(after.available);
    m.version = Set(after.version);
    m.updated_at = Set(after.updated_at);
    m.update(&**tx).await?;
    Ok(())
}

/// `transfer`. A replay with the same key and input returns the first
/// transfer and writes nothing.
pub async fn transfer(store: &Store, who: &Principal, cmd: &Checked<NewTransfer>) -> AppResult<transfer::Model> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    let from = peek(&tx, org, cmd.from_asset_id, "fromAssetId").await?;
    let to = peek(&tx, org, cmd.to_asset_id, "toAssetId").await?;
    if from.currency_id != to.currency_id {
        return Err(AppError::invalid("toAssetId", "holds another currency than fromAssetId"));
    }
    let cur = currency::Entity::find_by_id(from.currency_id)
        .one(&*tx)
        .await?
        .ok_or_else(|| AppError::internal("asset without currency"))?;
    let fee_asset = match cmd.fee {
        Some(_) => Some(fee_payer_asset(&tx, org, &cur).await?.id),
        None => None,
    };
    if fee_asset.is_some_and(|f| f == from.id || f == to.id) {
        return Err(AppError::invalid("fee", "a transfer from or to the FEE_PAYER account takes no fee"));
    }
    let mut ids = vec![(from.id, "fromAssetId"), (to.id, "toAssetId")];
    ids.extend(fee_asset.map(|f| (f, "fee")));
    let sides = lock_sides(&tx, org, &ids).await?;
    if let Some(first) = replayed(&tx, org, cmd).await? {
        return Ok(first);
    }
    let amount = validate::amount("amount", cmd.amount, cur.decimals, false)?;
    let fee = cmd.fee.map(|f| validate::amount("fee", f, cur.decimals, false)).transpose()?;
    let check = |side: &Side, direction, who| movement::check(&holder(&side.account, &side.before)?, direction, who);
    let (sender, receiver, payer) = (&sides[0], &sides[1], sides.get(2));
    check(sender, Direction::Debit, "the sending account")?;
    check(receiver, Direction::Credit, "the receiving account")?;
    if let Some(p) = payer {
        check(p, Direction::Credit, "the FEE_PAYER account")?;
    }

    let (at, id) = (tx.now(), Uuid::now_v7());
    let sent = moved(&sender.before, -amount, at)?;
    let charged = fee.map(|f| moved(&sent, -f, at)).transpose()?;
    let received = moved(&receiver.before, amount, at)?;
    let paid = match (fee, payer) {
        (Some(f), Some(p)) => Some((p, moved(&p.before, f, at)?)),
        _ => None,
    };
    let row = rows::transfer(who, id, cmd, request_hash(cmd), (&sender.before, &receiver.before), fee_asset, at);
    let created =
        row.insert(&*tx).await.map_err(|e| AppError::from_unique(e, &[("idempotency_key", "idempotencyKey")]))?;

    let leg = |delta: Decimal| journal::Entry {
        cause: BalanceCause::Transfer,
        idempotency_key: Some(&cmd.idempotency_key),
        transfer_id: Some(id),
        deltas: [delta, Decimal::ZERO, Decimal::ZERO],
    };
    save(&tx, &sender.before, charged.as_ref().unwrap_or(&sent)).await?;
    journal::append(&*tx, who, &sent, leg(-amount), at).await?;
    if let (Some(f), Some(after)) = (fee, &charged) {
        journal::append(&*tx, who, after, leg(-f), at).await?;
    }
    save(&tx, &receiver.before, &received).await?;
    journal::append(&*tx, who, &received, leg(amount), at).await?;
    if let (Some(f), Some((p, after))) = (fee, &paid) {
        save(&tx, &p.before, after).await?;
        journal::append(&*tx, who, after, leg(f), at).await?;
    }
    audit::record(&tx, who, Change::created(Action::TransferCompleted, id, Some(created.from_account_id), &created))
        .await?;
    let touched = [Some(&sent), Some(&received), paid.as_ref().map(|(_, a)| a)];
    for side in touched.into_iter().flatten() {
        tx.emit(asset_write::balance_changed(who, side, Some(id), at));
    }
    tx.commit().await?;
    Ok(created)
}
