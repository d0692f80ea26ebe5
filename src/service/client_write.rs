//! Creating and changing clients.

use crate::auth::Principal;
use crate::domain::commands::{Checked, ClientChanges, NewClient};
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Change};
use crate::service::rows;
use crate::service::store::Store;
use entity::client;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
};
use uuid::Uuid;

async fn ensure_free<C: ConnectionTrait>(db: &C, org: Uuid, ext: Option<&str>, except: Option<Uuid>) -> AppResult<()> {
    let Some(ext) = ext else { return Ok(()) };
    let mut q = client::Entity::find()
        .filter(client::Column::OrganizationId.eq(org))
        .filter(client::Column::ExternalId.eq(ext));
    if let Some(id) = except {
        q = q.filter(client::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(AppError::conflict("externalId", "this external id is already in use"));
    }
    Ok(())
}

fn unique(e: sea_orm::DbErr) -> AppError {
    AppError::from_unique(e, &[("external_id", "externalId")])
}

/// `createClient`.
pub async fn create(store: &Store, who: &Principal, cmd: &Checked<NewClient>) -> AppResult<client::Model> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    ensure_free(&*tx, org, cmd.external_id.as_deref(), None).await?;
    let created = rows::client(org, cmd, tx.now()).insert(&*tx).await.map_err(unique)?;
    let change = Change::created(Action::ClientCreated, created.id, None, &created);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok(created)
}

/// `updateClient`.
pub async fn update(store: &Store, who: &Principal, id: Uuid, ch: &Checked<ClientChanges>) -> AppResult<client::Model> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let tx = store.begin().await?;
    let before = client::Entity::find_by_id(id)
        .filter(client::Column::OrganizationId.eq(org))
        .lock_exclusive()
        .one(&*tx)
        .await?
        .ok_or_else(|| AppError::missing("id", "client"))?;
    let mut m = before.clone().into_active_model();
    if let Some(name) = &ch.name {
        m.name = Set(name.clone());
    }
    if let Some(email) = ch.email.change() {
        m.email = Set(email.cloned());
    }
    if let Some(ext) = ch.external_id.change() {
        ensure_free(&*tx, org, ext.map(String::as_str), Some(id)).await?;
        m.external_id = Set(ext.cloned());
    }
    m.updated_at = Set(tx.now());
    let after = m.update(&*tx).await.map_err(unique)?;
    let change = Change::changed(Action::ClientUpdated, id, None, &before, &after);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok(after)
}
