//! Organizations (tenants).

use crate::error::AppResult;
use entity::organization;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// The name of the organization that the embedded default runs as.
pub const DEMO: &str = "demo";

/// The organization `id`.
pub async fn find<C: ConnectionTrait>(db: &C, id: Uuid) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find_by_id(id).one(db).await?)
}

/// The organization named `name`, if there is one.
pub async fn by_name<C: ConnectionTrait>(db: &C, name: &str) -> AppResult<Option<organization::Model>> {
    Ok(organization::Entity::find().filter(organization::Column::Name.eq(name)).one(db).await?)
}

/// The organization called `name`, created when missing.
pub async fn ensure<C: ConnectionTrait>(db: &C, name: &str) -> AppResult<organization::Model> {
    if let Some(org) = by_name(db, name).await? {
        return Ok(org);
    }
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        account_seq: Set(0),
        created_at: Set(crate::service::now()),
    };
    Ok(org.insert(db).await?)
}

/// Reserves `count` consecutive account uids of `org` and returns the first.
/// One `UPDATE .. RETURNING` takes the organization row's lock, so
/// concurrent creators never get the same uid.
pub async fn reserve_uids<C: ConnectionTrait>(db: &C, org: Uuid, count: i64) -> AppResult<i64> {
    use sea_orm::{DbBackend, Statement};
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE organizations SET account_seq = account_seq + $1 WHERE id = $2 RETURNING account_seq"
        }
        _ => "UPDATE organizations SET account_seq = account_seq + ? WHERE id = ? RETURNING account_seq",
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [count.into(), org.into()]))
        .await?
        .ok_or_else(|| crate::error::AppError::missing("organization", "organization"))?;
    let last: i64 = row.try_get_by_index(0)?;
    Ok(last - count + 1)
}
