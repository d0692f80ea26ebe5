//! Rows decoded by position. SeaORM's derived decoding finds every value
//! by its column's name: a hash per value, and in a join (`A_id`, `B_id`)
//! a `format!` of the prefixed name per value as well. On a page of 50
//! accounts with their relations that was a tenth of the gateway's CPU.
//! The tables a page reads decode by position instead: a model's columns
//! are consecutive in a row, in its entity's column order (which a test
//! checks against each entity), and a join's models follow one another.

use crate::error::AppResult;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryResult, QueryTrait, Select};

/// A model read from consecutive columns of a row.
pub trait ByIndex: Sized {
    /// Its fields, in the order its entity selects their columns.
    const FIELDS: &'static [&'static str];

    /// The model whose columns start at `at`.
    fn decode(row: &QueryResult, at: usize) -> Result<Self, DbErr>;

    /// The model whose columns start at `at`, or `None` where a left join
    /// found no row: its first column, the primary key, is NULL.
    fn decode_joined(row: &QueryResult, at: usize) -> Result<Option<Self>, DbErr> {
        match row.try_get_by_index::<Option<uuid::Uuid>>(at)? {
            Some(_) => Self::decode(row, at).map(Some),
            None => Ok(None),
        }
    }
}

macro_rules! by_index {
    ($($table:ident { $($field:ident),+ $(,)? })+) => {$(
        impl ByIndex for entity::$table::Model {
            const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn decode(row: &QueryResult, at: usize) -> Result<Self, DbErr> {
                // Struct fields are evaluated in the order written.
                let mut next = at..;
                Ok(Self { $($field: row.try_get_by_index(next.next().unwrap_or_default())?),+ })
            }
        }
    )+};
}

by_index! {
    account { id, organization_id, uid, account_number, name, alias, type_id, kind, system_role, system_key, status,
        status_reason_code, status_reason_description, status_changed_at, external_id, project_id, owner_id, parent_id,
        depth, product_id, allow_sending, allow_receiving, main, accounting, custody, custody_bank_account, metadata,
        version, created_at, updated_at, deleted_at }
    account_type { id, organization_id, code, name, category, created_at }
    asset { id, organization_id, account_id, currency_id, status, available, on_hold, future, credit_limit, address,
        external_id, bank, platform, version, created_at, updated_at }
    audit_event { id, organization_id, at, actor, action, entity_type, entity_id, account_id, before, after }
    balance_entry { id, organization_id, asset_id, at, actor, cause, idempotency_key, delta_available, delta_on_hold,
        delta_future, available, on_hold, future, credit_limit }
    client { id, organization_id, external_id, name, email, kind, created_at, updated_at }
    currency { id, organization_id, code, name, symbol, currency_type, decimals, created_at }
    currency_network { currency_id, network_id, organization_id }
    network { id, organization_id, code, name, address_pattern, created_at }
    project { id, organization_id, name, created_at }
    smart_card { id, organization_id, account_id, name, last4, fingerprint, expiration_date, active, created_at,
        deactivation_reason_code, deactivation_reason_description, deactivated_at }
    wallet { id, organization_id, asset_id, network_id, address, active, created_at }
}

/// The rows `query` (a select of one entity or a join) returns, to decode
/// by position.
pub async fn rows<C: ConnectionTrait, Q: QueryTrait>(db: &C, query: &Q) -> AppResult<Vec<QueryResult>> {
    Ok(db.query_all_raw(query.build(db.get_database_backend())).await?)
}

/// Every model `query` selects.
pub async fn all<C, E>(db: &C, query: Select<E>) -> AppResult<Vec<E::Model>>
where
    C: ConnectionTrait,
    E: EntityTrait,
    E::Model: ByIndex,
{
    let rows = rows(db, &query).await?;
    Ok(rows.iter().map(|r| E::Model::decode(r, 0)).collect::<Result<_, _>>()?)
}

/// Each row of a `find_also_related` join: the model, and its related one
/// where there is one.
pub async fn pairs<C, Q, A, B>(db: &C, query: &Q) -> AppResult<Vec<(A, Option<B>)>>
where
    C: ConnectionTrait,
    Q: QueryTrait,
    A: ByIndex,
    B: ByIndex,
{
    let rows = rows(db, query).await?;
    let pair = |r: &QueryResult| Ok::<_, DbErr>((A::decode(r, 0)?, B::decode_joined(r, A::FIELDS.len())?));
    Ok(rows.iter().map(pair).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::ByIndex;
    use sea_orm::{EntityTrait, Iterable};

    /// The field names an entity's columns stand for (`OrganizationId` is
    /// `organization_id`), in the order it selects them.
    fn fields<E: EntityTrait>() -> Vec<String>
    where
        E::Column: std::fmt::Debug,
    {
        let snake = |camel: String| {
            camel.chars().enumerate().fold(String::new(), |mut out, (i, ch)| {
                if ch.is_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(ch.to_ascii_lowercase());
                out
            })
        };
        E::Column::iter().map(|c| snake(format!("{c:?}"))).collect()
    }

    #[test]
    fn fields_are_listed_in_column_order() {
        macro_rules! check {
            ($($table:ident),+) => {$(
                assert_eq!(
                    <entity::$table::Model as ByIndex>::FIELDS,
                    fields::<entity::$table::Entity>().as_slice(),
                    stringify!($table)
                );
            )+};
        }
        check!(
            account,
            account_type,
            asset,
            audit_event,
            balance_entry,
            client,
            currency,
            currency_network,
            network,
            project,
            smart_card,
            wallet
        );
    }
}
