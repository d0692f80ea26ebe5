//! Creating and changing clients.

use crate::auth::Principal;
use crate::domain::inputs::{CreateClientInput, UpdateClientInput};
use crate::domain::{validate, ClientKind, Role};
use crate::error::{AppError, AppResult};
use crate::service::audit::{self, Action, Change};
use crate::service::store::Store;
use async_graphql::MaybeUndefined;
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
        return Err(AppError::conflict("input.externalId", "this external id is already in use"));
    }
    Ok(())
}

fn unique(e: sea_orm::DbErr) -> AppError {
    AppError::from_unique(e, &[("external_id", "input.externalId")])
}

/// `createClient`.
pub async fn create(store: &Store, who: &Principal, input: &CreateClientInput) -> AppResult<client::Model> {
    who.require(Role::Operator)?;
    let org = who.organization_id;
    let name = validate::text("input.name", &input.name, 200)?;
    let email = validate::email("input.email", input.email.as_deref())?;
    let ext = validate::handle("input.externalId", input.external_id.as_deref())?;
    let tx = store.begin().await?;
    ensure_free(&*tx, org, ext.as_deref(), None).await?;
    let at = tx.now();
    let created = client::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        external_id: Set(ext),
        name: Set(name),
        email: Set(email),
        kind: Set(input.kind.unwrap_or(ClientKind::Person).as_str().into()),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&*tx)
    .await
    .map_err(unique)?;
    let change = Change::created(Action::ClientCreated, created.id, None, &created);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok(created)
}

/// `updateClient`.
pub async fn update(store: &Store, who: &Principal, id: Uuid, input: &UpdateClientInput) -> AppResult<client::Model> {
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
    if let Some(name) = &input.name {
        m.name = Set(validate::text("input.name", name, 200)?);
    }
    match &input.email {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => m.email = Set(None),
        MaybeUndefined::Value(e) => m.email = Set(validate::email("input.email", Some(e))?),
    }
    match &input.external_id {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => m.external_id = Set(None),
        MaybeUndefined::Value(e) => {
            let ext = validate::handle("input.externalId", Some(e))?;
            ensure_free(&*tx, org, ext.as_deref(), Some(id)).await?;
            m.external_id = Set(ext);
        }
    }
    m.updated_at = Set(tx.now());
    let after = m.update(&*tx).await.map_err(unique)?;
    let change = Change::changed(Action::ClientUpdated, id, None, &before, &after);
    audit::record(&tx, who, change).await?;
    tx.commit().await?;
    Ok(after)
}
