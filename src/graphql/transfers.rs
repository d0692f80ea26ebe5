//! Transfers as the schema shows them: the `transfer` mutation, the
//! `transfer(id)` and `transfers` queries, and `Transfer` itself.

use crate::domain::commands::NewTransfer;
use crate::domain::money::Dec;
use crate::domain::paging::PageArgs;
use crate::error::{AppError, ToGql};
use crate::graphql::assets::{asset_of, at_scale, Asset};
use crate::graphql::catalog::Currency;
use crate::graphql::connection::{connection, wants_total, Conn};
use crate::graphql::inputs::input_error;
use crate::graphql::{load_err, req};
use crate::service::catalog;
use crate::service::transfer_write;
use crate::service::transfers::{self, TransferConditions};
use async_graphql::{Context, InputObject, Json, Object, Result};
use chrono::{DateTime, Utc};
use entity::transfer;
use uuid::Uuid;

/// Money moved from one asset to another of the same currency.
pub struct Transfer(pub transfer::Model);

impl Transfer {
    async fn currency_model(&self, ctx: &Context<'_>) -> Result<entity::currency::Model> {
        let r = req(ctx)?;
        r.loaders
            .currencies
            .load_one(self.0.currency_id)
            .await
            .map_err(load_err)?
            .ok_or_else(|| AppError::internal("transfer without currency").to_graphql())
    }
}

#[Object]
impl Transfer {
    /// Unique id.
    async fn id(&self) -> Uuid {
        self.0.id
    }
    /// The key it was made under.
    async fn idempotency_key(&self) -> &str {
        &self.0.idempotency_key
    }
    /// The sending asset.
    async fn from(&self, ctx: &Context<'_>) -> Result<Asset> {
        asset_of(ctx, self.0.from_asset_id).await
    }
    /// The receiving asset.
    async fn to(&self, ctx: &Context<'_>) -> Result<Asset> {
        asset_of(ctx, self.0.to_asset_id).await
    }
    /// The currency of both assets.
    async fn currency(&self, ctx: &Context<'_>) -> Result<Currency> {
        Ok(Currency(self.currency_model(ctx).await?))
    }
    /// What reached the receiver, in the currency's decimals.
    async fn amount(&self, ctx: &Context<'_>) -> Result<Dec> {
        Ok(at_scale(self.0.amount.0, self.currency_model(ctx).await?.decimals))
    }
    /// What left the sender besides `amount`, for the FEE_PAYER account;
    /// null when none was taken.
    async fn fee(&self, ctx: &Context<'_>) -> Result<Option<Dec>> {
        match self.0.fee_asset_id {
            Some(_) => Ok(Some(at_scale(self.0.fee.0, self.currency_model(ctx).await?.decimals))),
            None => Ok(None),
        }
    }
    /// Why.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// The integrator's data.
    async fn metadata(&self) -> Option<Json<serde_json::Value>> {
        self.0.metadata.clone().map(Json)
    }
    /// Who made it.
    async fn actor(&self) -> &str {
        &self.0.actor
    }
    /// Commit time.
    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}

/// `transfer`'s input.
#[derive(InputObject, Clone, Debug)]
pub struct TransferInput {
    /// A retry with the same key and input returns the first transfer;
    /// the same key with another input is CONFLICT.
    pub idempotency_key: String,
    /// The sending asset.
    pub from_asset_id: Uuid,
    /// The receiving asset, of the same currency.
    pub to_asset_id: Uuid,
    /// Greater than zero, within the currency's decimals.
    pub amount: Dec,
    /// Leaves the sender too, for the organization's FEE_PAYER account of
    /// the currency.
    pub fee: Option<Dec>,
    /// Why, for the trail.
    pub reason: Option<String>,
    /// The integrator's data: an object of string keys to string, number or
    /// boolean values.
    pub metadata: Option<Json<serde_json::Value>>,
}

impl From<TransferInput> for NewTransfer {
    fn from(i: TransferInput) -> Self {
        NewTransfer {
            idempotency_key: i.idempotency_key,
            from_asset_id: i.from_asset_id,
            to_asset_id: i.to_asset_id,
            amount: i.amount.0,
            fee: i.fee.map(|f| f.0),
            reason: i.reason,
            metadata: i.metadata.map(|m| m.0),
        }
    }
}

/// Transfers touching the account or asset (either side), of the
/// currency, committed in [from, to).
#[derive(InputObject, Clone, Debug, Default)]
pub struct TransferFilter {
    /// Either side's account.
    pub account_id: Option<Uuid>,
    /// Either side's asset.
    pub asset_id: Option<Uuid>,
    /// Currency code.
    pub currency: Option<String>,
    /// Committed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Committed before.
    pub to: Option<DateTime<Utc>>,
}

/// A page of transfers matching `conditions`, newest first.
pub async fn page(ctx: &Context<'_>, conditions: &TransferConditions, args: PageArgs) -> Result<Conn<Transfer>> {
    let r = req(ctx)?;
    let org = r.principal.organization_id;
    let page = transfers::page(r.db, org, conditions, &args, wants_total(ctx)).await.gql()?;
    Ok(connection(page, Transfer))
}

/// `transfer(id)` and `transfers`.
#[derive(Default)]
pub struct TransferQuery;

#[Object]
impl TransferQuery {
    /// A transfer by id.
    async fn transfer(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Transfer>> {
        let r = req(ctx)?;
        Ok(r.loaders.transfers.load_one(id).await.map_err(load_err)?.map(Transfer))
    }

    /// Newest first.
    async fn transfers(
        &self,
        ctx: &Context<'_>,
        filter: Option<TransferFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Conn<Transfer>> {
        let r = req(ctx)?;
        let f = filter.unwrap_or_default();
        let currency_id = match f.currency.as_deref() {
            Some(code) => {
                let code =
                    crate::domain::validate::code("currency", code, 10).map_err(|e| e.within("filter", &[])).gql()?;
                let found = catalog::currency_by_code(r.db, r.principal.organization_id, &code, "currency").await;
                Some(found.map_err(|e| e.within("filter", &[])).gql()?.id)
            }
            None => None,
        };
        let conditions =
            TransferConditions { account_id: f.account_id, asset_id: f.asset_id, currency_id, from: f.from, to: f.to };
        page(ctx, &conditions, PageArgs { first, after, last, before, offset: None }).await
    }
}

/// The `transfer` mutation.
#[derive(Default)]
pub struct TransferMutation;

#[Object]
impl TransferMutation {
    /// Moves `amount` from one asset to another of the same currency and
    /// organization in one transaction, exactly once per idempotencyKey (the
    /// same key with another input is CONFLICT). Both accounts obey the
    /// movement rules (status, allowSending / allowReceiving) and the sender
    /// keeps available + creditLimit >= 0. With `fee`, that much more leaves
    /// the sender for the organization's FEE_PAYER account of the currency,
    /// in the same transaction.
    async fn transfer(&self, ctx: &Context<'_>, input: TransferInput) -> Result<Transfer> {
        let r = req(ctx)?;
        let own = input_error(&[]);
        let cmd = NewTransfer::from(input).check().map_err(&own).gql()?;
        Ok(Transfer(transfer_write::transfer(r.store, r.principal, &cmd).await.map_err(own).gql()?))
    }
}
