//! Reading the organization's configuration: account types, currencies,
//! networks and projects. These lists are small; they are not paged.

use crate::error::{AppError, AppResult};
use entity::{account_type, currency, network, project};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

/// The organization's account types, by code.
pub async fn account_types<C: ConnectionTrait>(db: &C, org: Uuid) -> AppResult<Vec<account_type::Model>> {
    Ok(account_type::Entity::find()
        .filter(account_type::Column::OrganizationId.eq(org))
        .order_by_asc(account_type::Column::Code)
        .all(db)
        .await?)
}

/// The organization's currencies, by code.
pub async fn currencies<C: ConnectionTrait>(db: &C, org: Uuid) -> AppResult<Vec<currency::Model>> {
    Ok(currency::Entity::find()
        .filter(currency::Column::OrganizationId.eq(org))
        .order_by_asc(currency::Column::Code)
        .all(db)
        .await?)
}

/// The organization's currency of (checked) `code`, or VALIDATION_FAILED
/// on `field`.
pub async fn currency_by_code<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    code: &str,
    field: &str,
) -> AppResult<currency::Model> {
    currency::Entity::find()
        .filter(currency::Column::OrganizationId.eq(org))
        .filter(currency::Column::Code.eq(code))
        .one(db)
        .await?
        .ok_or_else(|| AppError::invalid(field, "no currency with this code"))
}

/// The organization's networks, by code.
pub async fn networks<C: ConnectionTrait>(db: &C, org: Uuid) -> AppResult<Vec<network::Model>> {
    Ok(network::Entity::find()
        .filter(network::Column::OrganizationId.eq(org))
        .order_by_asc(network::Column::Code)
        .all(db)
        .await?)
}

/// The organization's projects, by name.
pub async fn projects<C: ConnectionTrait>(db: &C, org: Uuid) -> AppResult<Vec<project::Model>> {
    Ok(project::Entity::find()
        .filter(project::Column::OrganizationId.eq(org))
        .order_by_asc(project::Column::Name)
        .all(db)
        .await?)
}
