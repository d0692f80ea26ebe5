//! Configuring the organization: account types, currencies, networks,
//! projects. ADMIN only.

use crate::auth::Principal;
use crate::domain::commands::{Checked, NewAccountType, NewCurrency, NewNetwork};
use crate::domain::{validate, Role};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Change};
use crate::service::rows;
use crate::service::store::Store;
use entity::{account_type, currency, currency_network, network, project};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use uuid::Uuid;

async fn audited<T: Serialize>(
    tx: &crate::service::store::WriteTx,
    who: &Principal,
    action: Action,
    id: Uuid,
    row: &T,
) -> AppResult<()> {
    audit::record(tx, who, Change::created(action, id, None, row)).await
}

/// `createAccountType`.
pub async fn create_account_type(
    store: &Store,
    who: &Principal,
    cmd: &Checked<NewAccountType>,
) -> AppResult<account_type::Model> {
    who.require(Role::Admin)?;
    let tx = store.begin().await?;
    let row = rows::account_type(who.organization_id, cmd, tx.now())
        .insert(&*tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("code", "code")]))?;
    audited(&tx, who, Action::AccountTypeCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// `createCurrency`, with the networks it lives on.
pub async fn create_currency(store: &Store, who: &Principal, cmd: &Checked<NewCurrency>) -> AppResult<currency::Model> {
    who.require(Role::Admin)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    let row = rows::currency(org, cmd, tx.now())
        .insert(&*tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("code", "code")]))?;
    for (i, net_code) in cmd.networks.iter().enumerate() {
        let field = format!("networks.{i}");
        let net = network::Entity::find()
            .filter(network::Column::OrganizationId.eq(org))
            .filter(network::Column::Code.eq(net_code.clone()))
            .one(&*tx)
            .await?
            .ok_or_else(|| AppError::invalid(field.clone(), "no network with this code"))?;
        currency_network::ActiveModel { currency_id: Set(row.id), network_id: Set(net.id), organization_id: Set(org) }
            .insert(&*tx)
            .await
            .map_err(|e| AppError::from_unique(e, &[("network_id", &field)]))?;
    }
    audited(&tx, who, Action::CurrencyCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// `createNetwork`.
pub async fn create_network(store: &Store, who: &Principal, cmd: &Checked<NewNetwork>) -> AppResult<network::Model> {
    who.require(Role::Admin)?;
    let tx = store.begin().await?;
    let row = rows::network(who.organization_id, cmd, tx.now())
        .insert(&*tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("code", "code")]))?;
    audited(&tx, who, Action::NetworkCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// `createProject`.
pub async fn create_project(store: &Store, who: &Principal, name: &str) -> AppResult<project::Model> {
    who.require(Role::Admin)?;
    let name = validate::text("name", name, 100)?;
    let tx = store.begin().await?;
    let row = rows::project(who.organization_id, name, tx.now())
        .insert(&*tx)
        .await
        .map_err(|e| AppError::from_unique(e, &[("name", "name")]))?;
    audited(&tx, who, Action::ProjectCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}
