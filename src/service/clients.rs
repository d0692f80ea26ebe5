//! Reading clients.

use crate::domain::filter::ClientCondition;
use crate::domain::paging::{CursorField, PageArgs, SortValue};
use crate::error::AppResult;
use crate::service::paging::{fetch_page, PageResult, SortSpec};
use entity::client;
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// The client `id` of `org`.
pub async fn find<C: ConnectionTrait>(db: &C, org: Uuid, id: Uuid) -> AppResult<Option<client::Model>> {
    Ok(client::Entity::find_by_id(id).filter(client::Column::OrganizationId.eq(org)).one(db).await?)
}

fn prefix(col: client::Column, text: &str) -> Expr {
    let escaped: String = text
        .to_lowercase()
        .chars()
        .flat_map(|c| {
            let esc = matches!(c, '%' | '_' | '\\').then_some('\\');
            esc.into_iter().chain(std::iter::once(c))
        })
        .collect();
    Expr::expr(Func::lower(Expr::col((client::Entity, col)))).like(LikeExpr::new(format!("{escaped}%")).escape('\\'))
}

/// One page of the clients of `org` that meet every condition, newest first.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    conditions: &[ClientCondition],
    args: &PageArgs,
    with_total: bool,
) -> AppResult<PageResult<client::Model>> {
    use client::Column as K;
    let page = args.validate(CursorField::CreatedAt)?;
    let mut c = Condition::all().add(K::OrganizationId.eq(org));
    for cond in conditions {
        c = c.add(match cond {
            ClientCondition::Search(text) => {
                let any = Condition::any()
                    .add(prefix(K::Name, text))
                    .add(prefix(K::Email, text))
                    .add(prefix(K::ExternalId, text));
                match Uuid::parse_str(text) {
                    Ok(id) => any.add(K::Id.eq(id)),
                    Err(_) => any,
                }
            }
            ClientCondition::Email(email) => {
                Condition::all().add(Expr::expr(Func::lower(Expr::col((client::Entity, K::Email)))).eq(email.clone()))
            }
            ClientCondition::ExternalId(ext) => Condition::all().add(K::ExternalId.eq(ext.clone())),
            ClientCondition::Kind(kind) => Condition::all().add(K::Kind.eq(kind.as_str())),
        });
    }
    let spec = SortSpec { field: CursorField::CreatedAt, column: K::CreatedAt, id: K::Id, desc: true };
    fetch_page(
        db,
        client::Entity::find().filter(c),
        &spec,
        &page,
        |m| (SortValue::Time(m.created_at), m.id),
        with_total,
    )
    .await
}
