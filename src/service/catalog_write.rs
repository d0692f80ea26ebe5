//! Configuring the organization: account types, currencies, networks,
//! projects. ADMIN only.

use crate::auth::Principal;
use crate::domain::inputs::{AccountTypeInput, CurrencyInput, NetworkInput};
use crate::domain::{validate, Role};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Change};
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
    input: &AccountTypeInput,
) -> AppResult<account_type::Model> {
    who.require(Role::Admin)?;
    let code = validate::code("input.code", &input.code, 50)?;
    let name = validate::text("input.name", &input.name, 100)?;
    let tx = store.begin().await?;
    let row = account_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(who.organization_id),
        code: Set(code),
        name: Set(name),
        category: Set(input.category.map(|c| c.as_str().to_owned())),
        created_at: Set(tx.now()),
    }
    .insert(&*tx)
    .await
    .map_err(|e| AppError::from_unique(e, &[("code", "input.code")]))?;
    audited(&tx, who, Action::AccountTypeCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// `createCurrency`, with the networks it lives on.
pub async fn create_currency(store: &Store, who: &Principal, input: &CurrencyInput) -> AppResult<currency::Model> {
    who.require(Role::Admin)?;
    let org = who.organization_id;
    let code = validate::code("input.code", &input.code, 10)?;
    let name = validate::text("input.name", &input.name, 100)?;
    let symbol = validate::text("input.symbol", &input.symbol, 10)?;
    if !(0..=18).contains(&input.decimals) {
        return Err(AppError::invalid("input.decimals", "must be 0 to 18"));
    }
    let tx = store.begin().await?;
    let row = currency::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        code: Set(code),
        name: Set(name),
        symbol: Set(symbol),
        currency_type: Set(input.currency_type.as_str().into()),
        decimals: Set(input.decimals),
        created_at: Set(tx.now()),
    }
    .insert(&*tx)
    .await
    .map_err(|e| AppError::from_unique(e, &[("code", "input.code")]))?;
    for (i, net_code) in input.networks.iter().flatten().enumerate() {
        let net = network::Entity::find()
            .filter(network::Column::OrganizationId.eq(org))
            .filter(network::Column::Code.eq(net_code.trim().to_lowercase()))
            .one(&*tx)
            .await?
            .ok_or_else(|| AppError::invalid(format!("input.networks.{i}"), "no network with this code"))?;
        currency_network::ActiveModel { currency_id: Set(row.id), network_id: Set(net.id), organization_id: Set(org) }
            .insert(&*tx)
            .await
            .map_err(|e| AppError::from_unique(e, &[("network_id", &format!("input.networks.{i}"))]))?;
    }
    audited(&tx, who, Action::CurrencyCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// `createNetwork`.
pub async fn create_network(store: &Store, who: &Principal, input: &NetworkInput) -> AppResult<network::Model> {
    who.require(Role::Admin)?;
    let code = input.code.trim().to_lowercase();
    if code.is_empty() || code.len() > 50 || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(AppError::invalid("input.code", "must be 1 to 50 letters, digits, - or _"));
    }
    let name = validate::text("input.name", &input.name, 100)?;
    let pattern = validate::optional("input.addressPattern", input.address_pattern.as_deref(), 500)?;
    if let Some(p) = &pattern {
        regex::Regex::new(p)
            .map_err(|_| AppError::invalid("input.addressPattern", "is not a valid regular expression"))?;
    }
    let tx = store.begin().await?;
    let row = network::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(who.organization_id),
        code: Set(code),
        name: Set(name),
        address_pattern: Set(pattern),
        created_at: Set(tx.now()),
    }
    .insert(&*tx)
    .await
    .map_err(|e| AppError::from_unique(e, &[("code", "input.code")]))?;
    audited(&tx, who, Action::NetworkCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}

/// `createProject`.
pub async fn create_project(store: &Store, who: &Principal, name: &str) -> AppResult<project::Model> {
    who.require(Role::Admin)?;
    let name = validate::text("name", name, 100)?;
    let tx = store.begin().await?;
    let row = project::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(who.organization_id),
        name: Set(name),
        created_at: Set(tx.now()),
    }
    .insert(&*tx)
    .await
    .map_err(|e| AppError::from_unique(e, &[("name", "name")]))?;
    audited(&tx, who, Action::ProjectCreated, row.id, &row).await?;
    tx.commit().await?;
    Ok(row)
}
