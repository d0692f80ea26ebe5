//! `viewer`: who the caller is.

use crate::domain::Role;
use crate::error::{AppError, ToGql};
use crate::graphql::req;
use crate::service::organizations;
use async_graphql::{Context, Object, Result, SimpleObject};
use uuid::Uuid;

/// A tenant.
#[derive(SimpleObject)]
pub struct Organization {
    /// Unique id.
    pub id: Uuid,
    /// Name.
    pub name: String,
}

/// The caller.
pub struct Viewer;

#[Object]
impl Viewer {
    /// The caller's organization.
    async fn organization(&self, ctx: &Context<'_>) -> Result<Organization> {
        let r = req(ctx)?;
        let org = organizations::find(r.db, r.principal.organization_id).await.gql()?;
        let org = org.ok_or_else(|| {
            AppError::Unauthenticated("the credential's organization no longer exists".into()).to_graphql()
        })?;
        Ok(Organization { id: org.id, name: org.name })
    }
    /// The caller's role.
    async fn role(&self, ctx: &Context<'_>) -> Result<Role> {
        Ok(req(ctx)?.principal.role)
    }
    /// The token's subject or the API key's name.
    async fn subject(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(req(ctx)?.principal.subject.clone())
    }
}

/// The `viewer` root field.
#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who you are: organization, role and subject.
    async fn viewer(&self) -> Viewer {
        Viewer
    }
}
