//! The audit trail in the schema.

use crate::domain::filter::AuditCondition;
use crate::domain::paging::PageArgs;
use crate::error::ToGql;
use crate::graphql::connection::{connection, wants_total, Conn};
use crate::graphql::filters::AuditFilter;
use crate::graphql::req;
use crate::service::audit;
use async_graphql::{Context, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::audit_event;
use uuid::Uuid;

/// One recorded change.
pub struct AuditEvent(pub audit_event::Model);

#[Object]
impl AuditEvent {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// When the change committed.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
    /// The caller's subject.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// account.created, account.status_changed, asset.added, ...
    async fn action(&self) -> &str {
        &self.0.action
    }
    /// ACCOUNT, ASSET, WALLET, SMART_CARD, CLIENT, ...
    async fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The changed object.
    async fn entity_id(&self) -> Uuid {
        self.0.entity_id
    }
    /// The object before the change.
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        self.0.before.clone().map(Json)
    }
    /// The object after the change.
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        self.0.after.clone().map(Json)
    }
}

/// Lists audit events; shared by `Query.auditEvents` and `Account.auditTrail`.
pub async fn events(
    ctx: &Context<'_>,
    filter: &[AuditCondition],
    account: Option<Uuid>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<AuditEvent>> {
    let r = req(ctx)?;
    let args = PageArgs { first, after, ..Default::default() };
    let page = audit::list(r.db, r.principal.organization_id, filter, account, &args, wants_total(ctx)).await.gql()?;
    Ok(connection(page, AuditEvent))
}

/// Audit queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Recorded changes, newest first.
    #[graphql(complexity = "first.unwrap_or(50).clamp(0, 500) as usize * child_complexity")]
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<AuditEvent>> {
        events(ctx, &filter.unwrap_or_default().conditions(), None, first, after).await
    }
}
