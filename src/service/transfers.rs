//! Reading transfers: by id, and pages filtered by account, asset,
//! currency and commit time, newest first.

use crate::domain::paging::{CursorField, PageArgs, SortValue};
use crate::error::AppResult;
use crate::service::paging::{fetch_page, PageResult, SortSpec};
use chrono::{DateTime, Utc};
use entity::transfer;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// What a list of transfers is narrowed to; every part is optional.
#[derive(Clone, Debug, Default)]
pub struct TransferConditions {
    /// Either side's account.
    pub account_id: Option<Uuid>,
    /// Either side's asset.
    pub asset_id: Option<Uuid>,
    /// The currency's id (the edge resolves the code).
    pub currency_id: Option<Uuid>,
    /// Committed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Committed before.
    pub to: Option<DateTime<Utc>>,
}

impl TransferConditions {
    fn condition(&self, org: Uuid) -> Condition {
        use transfer::Column as T;
        let mut c = Condition::all().add(T::OrganizationId.eq(org));
        if let Some(a) = self.account_id {
            c = c.add(Condition::any().add(T::FromAccountId.eq(a)).add(T::ToAccountId.eq(a)));
        }
        if let Some(a) = self.asset_id {
            c = c.add(Condition::any().add(T::FromAssetId.eq(a)).add(T::ToAssetId.eq(a)));
        }
        if let Some(cur) = self.currency_id {
            c = c.add(T::CurrencyId.eq(cur));
        }
        if let Some(from) = self.from {
            c = c.add(T::At.gte(from));
        }
        if let Some(to) = self.to {
            c = c.add(T::At.lt(to));
        }
        c
    }
}

/// One page of `org`'s transfers matching `filter`, newest first.
pub async fn page<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    filter: &TransferConditions,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<PageResult<transfer::Model>> {
    use transfer::Column as T;
    let page = args.validate(CursorField::At)?;
    let q = transfer::Entity::find().filter(filter.condition(org));
    let spec = SortSpec { field: CursorField::At, column: T::At, id: T::Id, desc: true };
    fetch_page(db, q, &spec, &page, |m| (SortValue::Time(m.at), m.id), with_total).await
}
