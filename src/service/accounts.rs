//! Reading accounts: lookups by each unique key and the filtered, ordered,
//! paged list.

use crate::domain::filter::AccountQuery;
use crate::domain::paging::{Page, PageArgs, SortValue};
use crate::domain::{AccountOrderField, OrderDirection};
use crate::error::AppResult;
use crate::service::account_filter::condition;
use crate::service::by_index::{self, ByIndex, Row};
use crate::service::paging::{fetch_page, fetch_page_joined, PageReader, PageResult, SortSpec};
use entity::{account, account_type, asset, client, currency};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Order, QueryFilter, QueryOrder, Select,
};
use std::collections::HashMap;
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

/// The select of the account named by `lookup` in `org`.
fn named(org: Uuid, lookup: Lookup) -> Select<account::Entity> {
    use account::Column as A;
    let cond = match lookup {
        Lookup::Id(id) => A::Id.eq(id),
        Lookup::ExternalId(v) => A::ExternalId.eq(v),
        Lookup::Alias(v) => A::Alias.eq(v),
        Lookup::Number(v) => A::AccountNumber.eq(v),
    };
    account::Entity::find().filter(A::OrganizationId.eq(org)).filter(cond)
}

/// The account named by `lookup` in `org`, deleted ones included (their
/// status says so).
pub async fn find<C: ConnectionTrait>(db: &C, org: Uuid, lookup: Lookup) -> AppResult<Option<account::Model>> {
    Ok(named(org, lookup).one(db).await?)
}

/// An account read with its owner and its assets.
pub struct AccountWith {
    /// The account.
    pub account: account::Model,
    /// Its owner, when it has one.
    pub owner: Option<client::Model>,
    /// Its assets, oldest first, each with its currency.
    pub assets: Vec<(asset::Model, currency::Model)>,
}

/// Like [`find`], with the account's owner and assets in the same
/// statement (one row per asset): what a single account's read needs
/// most, without a statement for each.
pub async fn find_with_relations<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    lookup: Lookup,
) -> AppResult<Option<AccountWith>> {
    let query = named(org, lookup)
        .find_also_related(client::Entity)
        .find_also(account::Entity, asset::Entity)
        .find_also(asset::Entity, currency::Entity)
        .order_by(asset::Column::CreatedAt, Order::Asc)
        .order_by(asset::Column::Id, Order::Asc);
    let rows = by_index::rows(db, &query).await?;
    let Some(first) = rows.first() else { return Ok(None) };
    // Account, owner, asset and currency columns, one after another.
    let owner_at = account::Model::FIELDS.len();
    let asset_at = owner_at + client::Model::FIELDS.len();
    let currency_at = asset_at + asset::Model::FIELDS.len();
    let account = account::Model::decode(first, 0)?;
    // The joined rows share the account's tenant by their foreign keys; the
    // checks keep a tenant's rows its own even if one did not.
    let owner = client::Model::decode_joined(first, owner_at)?.filter(|o| o.organization_id == org);
    let mut assets = Vec::new();
    for row in &rows {
        let asset = asset::Model::decode_joined(row, asset_at)?;
        let currency = currency::Model::decode_joined(row, currency_at)?;
        if let Some((a, c)) = asset.zip(currency).filter(|(a, c)| a.organization_id == org && c.organization_id == org)
        {
            assets.push((a, c));
        }
    }
    Ok(Some(AccountWith { account, owner, assets }))
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

/// A request for one page of an organization's accounts.
#[derive(Clone, Copy)]
pub struct ListAccounts<'a> {
    /// The organization.
    pub org: Uuid,
    /// Which accounts.
    pub query: &'a AccountQuery,
    /// The sort column and direction (then the id).
    pub order: (AccountOrderField, OrderDirection),
    /// Which page.
    pub args: &'a PageArgs,
    /// Whether the total is counted.
    pub with_total: bool,
}

impl ListAccounts<'_> {
    /// The page asked for, the filter and the sort, checked.
    fn plan(&self, backend: DbBackend) -> AppResult<(Page, Condition, SortSpec<account::Column>)> {
        let page = self.args.validate(self.order.0.into())?;
        let cond = condition(self.org, self.query, backend)?;
        Ok((page, cond, sort_spec(self.order.0, self.order.1)))
    }
}

/// One page of the accounts `list` asks for.
pub async fn list<C: ConnectionTrait>(db: &C, list: ListAccounts<'_>) -> AppResult<PageResult<account::Model>> {
    let (page, cond, spec) = list.plan(db.get_database_backend())?;
    let field = list.order.0;
    fetch_page(db, account::Entity::find().filter(cond), &spec, &page, |m| sort_key(field, m), list.with_total).await
}

/// A page of accounts with the owners and types of its rows.
pub struct AccountPage {
    /// The page.
    pub page: PageResult<account::Model>,
    /// The owners of its rows, each once.
    pub owners: Vec<client::Model>,
    /// The types of its rows, each once.
    pub types: Vec<account_type::Model>,
}

/// Like [`list`], with each row's owner and type read in the same
/// statement: what a page that shows them needs, without a statement for
/// each relation.
pub async fn list_with_owners_and_types<C: ConnectionTrait>(db: &C, list: ListAccounts<'_>) -> AppResult<AccountPage> {
    let (page, cond, spec) = list.plan(db.get_database_backend())?;
    let (org, field) = (list.org, list.order.0);
    // Account, owner and type columns, one after another.
    let owner_at = account::Model::FIELDS.len();
    let type_at = owner_at + client::Model::FIELDS.len();
    let reader = PageReader {
        join: |q: Select<account::Entity>| {
            q.find_also_related(client::Entity).find_also(account::Entity, account_type::Entity)
        },
        decode: |row: Row<'_>| {
            Ok((
                account::Model::decode(row, 0)?,
                client::Model::decode_joined(row, owner_at)?,
                account_type::Model::decode_joined(row, type_at)?,
            ))
        },
        key: |(m, _, _): &(account::Model, _, _)| sort_key(field, m),
    };
    let found =
        fetch_page_joined(db, account::Entity::find().filter(cond), &spec, &page, list.with_total, reader).await?;
    let (mut owners, mut types) = (HashMap::new(), HashMap::new());
    let rows = found
        .rows
        .into_iter()
        .map(|(cursor, (account, owner, kind))| {
            // The joined rows share the account's tenant by their foreign
            // keys; the checks keep a tenant's rows its own even if one did not.
            if let Some(o) = owner.filter(|o| o.organization_id == org) {
                owners.entry(o.id).or_insert(o);
            }
            if let Some(t) = kind.filter(|t| t.organization_id == org) {
                types.entry(t.id).or_insert(t);
            }
            (cursor, account)
        })
        .collect();
    Ok(AccountPage {
        page: PageResult { rows, has_previous: found.has_previous, has_next: found.has_next, total: found.total },
        owners: owners.into_values().collect(),
        types: types.into_values().collect(),
    })
}
