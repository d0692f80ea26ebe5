//! Reading accounts: lookups by each unique key and the filtered, ordered,
//! paged list.

use crate::domain::filter::AccountQuery;
use crate::domain::paging::{PageArgs, SortValue};
use crate::domain::{AccountOrderField, OrderDirection};
use crate::error::AppResult;
use crate::service::account_filter::condition;
use crate::service::paging::{fetch_page, PageResult, SortSpec};
use entity::account;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// A unique way to name one account.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// By id.
    Id(Uuid),
    /// By the integrator's reference.
    ExternalId(String),
    /// By alias.
    Alias(String),
    /// By account number.
    Number(String),
}

/// The account named by `lookup` in `org`, deleted ones included (their
/// status says so).
pub async fn find<C: ConnectionTrait>(db: &C, org: Uuid, lookup: Lookup) -> AppResult<Option<account::Model>> {
    use account::Column as A;
    let cond = match lookup {
        Lookup::Id(id) => A::Id.eq(id),
        Lookup::ExternalId(v) => A::ExternalId.eq(v),
        Lookup::Alias(v) => A::Alias.eq(v),
        Lookup::Number(v) => A::AccountNumber.eq(v),
    };
    Ok(account::Entity::find().filter(A::OrganizationId.eq(org)).filter(cond).one(db).await?)
}

/// The sort column and cursor key of an ordering.
pub fn sort_spec(field: AccountOrderField, direction: OrderDirection) -> SortSpec<account::Column> {
    let column = match field {
        AccountOrderField::CreatedAt => account::Column::CreatedAt,
        AccountOrderField::Uid => account::Column::Uid,
        AccountOrderField::Name => account::Column::Name,
        AccountOrderField::UpdatedAt => account::Column::UpdatedAt,
    };
    SortSpec { field: field.into(), column, id: account::Column::Id, desc: direction == OrderDirection::Desc }
}

/// The sort value of `m` under `field`, with its id.
pub fn sort_key(field: AccountOrderField, m: &account::Model) -> (SortValue, Uuid) {
    let value = match field {
        AccountOrderField::CreatedAt => SortValue::Time(m.created_at),
        AccountOrderField::Uid => SortValue::Int(m.uid),
        AccountOrderField::Name => SortValue::Text(m.name.clone()),
        AccountOrderField::UpdatedAt => SortValue::Time(m.updated_at),
    };
    (value, m.id)
}

/// One page of the accounts of `org` that match `query`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    query: &AccountQuery,
    order: (AccountOrderField, OrderDirection),
    args: &PageArgs,
    with_total: bool,
) -> AppResult<PageResult<account::Model>> {
    let page = args.validate(order.0.into())?;
    let cond = condition(org, query, db.get_database_backend())?;
    let spec = sort_spec(order.0, order.1);
    fetch_page(db, account::Entity::find().filter(cond), &spec, &page, |m| sort_key(order.0, m), with_total).await
}
