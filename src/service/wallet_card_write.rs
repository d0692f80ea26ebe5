//! Wallets (addresses of an asset on a network) and smart cards.

use crate::auth::Principal;
use crate::domain::cards::fingerprint;
use crate::domain::commands::{Checked, NewCard, NewWallet, StatusReason};
use crate::domain::{address, AddressFamily, Role};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Change};
use crate::service::store::Store;
use crate::service::{account_write, asset_write, rows};
use entity::{asset, currency_network, network, smart_card, wallet};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

/// `addWallet`: the network must carry the asset's currency and the address
/// must be valid for it; one address per network in the organization.
pub async fn add_wallet(
    store: &Store,
    who: &Principal,
    asset_id: Uuid,
    cmd: &Checked<NewWallet>,
) -> AppResult<(wallet::Model, network::Model)> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    let (asset, cur) = asset_write::lock(&*tx, org, asset_id, "assetId").await?;
    asset_write::live_account(&*tx, &asset).await?;
    let net = network::Entity::find()
        .filter(network::Column::OrganizationId.eq(org))
        .filter(network::Column::Code.eq(cmd.network.clone()))
        .one(&*tx)
        .await?
        .ok_or_else(|| AppError::invalid("network", "no network with this code"))?;
    let carries = currency_network::Entity::find_by_id((cur.id, net.id)).one(&*tx).await?;
    if carries.is_none() {
        return Err(AppError::invalid("network", format!("{} does not live on {}", cur.code, net.code)));
    }
    let family = AddressFamily::parse(&net.address_family)?;
    let stored = address::check(family, net.address_pattern.as_deref(), &cmd.address)
        .map_err(|m| AppError::invalid("address", m))?;
    let addr = stored.as_str();
    let dup = wallet::Entity::find()
        .filter(wallet::Column::OrganizationId.eq(org))
        .filter(wallet::Column::NetworkId.eq(net.id))
        .filter(wallet::Column::Address.eq(addr))
        .one(&*tx)
        .await?;
    if dup.is_some() {
        return Err(AppError::conflict("address", "this address is already registered on this network"));
    }
    let created = rows::wallet(org, asset.id, net.id, addr.to_owned(), tx.now())
        .insert(&*tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("address", "address")]))?;
    let change = Change::created(Action::WalletAdded, created.id, Some(asset.account_id), &created);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok((created, net))
}

/// `setWalletActive`.
pub async fn set_wallet_active(
    store: &Store,
    who: &Principal,
    id: Uuid,
    active: bool,
) -> AppResult<(wallet::Model, network::Model)> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    let before = wallet::Entity::find_by_id(id)
        .filter(wallet::Column::OrganizationId.eq(org))
        .lock_exclusive()
        .one(&*tx)
        .await?
        .ok_or_else(|| AppError::missing("id", "wallet"))?;
    let mut m = before.clone().into_active_model();
    m.active = Set(active);
    let after = m.update(&*tx).await?;
    let net = network::Entity::find_by_id(after.network_id)
        .one(&*tx)
        .await?
        .ok_or_else(|| AppError::internal("wallet without network"))?;
    // Only the owning account is needed, for the trail: no lock on the asset.
    let account_id = asset::Entity::find_by_id(after.asset_id).one(&*tx).await?.map(|a| a.account_id);
    let action = if active { Action::WalletActivated } else { Action::WalletDeactivated };
    let change = Change::changed(action, id, account_id, &before, &after);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok((after, net))
}

/// `issueSmartCard`: only last4 and a keyed fingerprint of the number stay.
pub async fn issue_card(
    store: &Store,
    who: &Principal,
    account_id: Uuid,
    cmd: &Checked<NewCard>,
) -> AppResult<smart_card::Model> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let print = fingerprint(&store.card_key, &cmd.card_number);
    let tx = store.begin().await?;
    let acc = account_write::lock(&*tx, org, account_id, "accountId").await?;
    if acc.deleted_at.is_some() {
        return Err(AppError::not_allowed("a deleted account cannot get cards"));
    }
    let dup = smart_card::Entity::find()
        .filter(smart_card::Column::OrganizationId.eq(org))
        .filter(smart_card::Column::Fingerprint.eq(print.clone()))
        .one(&*tx)
        .await?;
    if dup.is_some() {
        return Err(AppError::conflict("cardNumber", "this card is already issued"));
    }
    let created = rows::card(org, acc.id, cmd, print, tx.now())
        .insert(&*tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("fingerprint", "cardNumber")]))?;
    let change = Change::created(Action::SmartCardIssued, created.id, Some(acc.id), &created);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok(created)
}

/// `setSmartCardActive`: a deactivation keeps its reason and time (shown
/// until the next deactivation, reactivations included).
pub async fn set_card_active(
    store: &Store,
    who: &Principal,
    id: Uuid,
    active: bool,
    reason: &Checked<StatusReason>,
) -> AppResult<smart_card::Model> {
    who.require(Role::Operator)?;
    if active && reason.is_given() {
        return Err(AppError::invalid("reason", "a reason is given when deactivating a card"));
    }
    let tx = store.begin().await?;
    let before = card(&*tx, who.organization_id, id).await?;
    let mut m = before.clone().into_active_model();
    m.active = Set(active);
    if !active && before.active {
        m.deactivation_reason_code = Set(reason.code.clone());
        m.deactivation_reason_description = Set(reason.description.clone());
        m.deactivated_at = Set(Some(tx.now()));
    }
    let after = m.update(&*tx).await?;
    let action = if active { Action::SmartCardActivated } else { Action::SmartCardDeactivated };
    let change = Change::changed(action, id, Some(after.account_id), &before, &after);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok(after)
}

async fn card<C: ConnectionTrait>(db: &C, org: Uuid, id: Uuid) -> AppResult<smart_card::Model> {
    smart_card::Entity::find_by_id(id)
        .filter(smart_card::Column::OrganizationId.eq(org))
        .lock_exclusive()
        .one(db)
        .await?
        .ok_or_else(|| AppError::missing("id", "smart card"))
}
