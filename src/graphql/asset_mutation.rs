//! Mutations of assets, balances, wallets and smart cards.

use crate::domain::commands::{BalanceAdjustment, NewAsset, NewCard, NewWallet};
use crate::domain::AssetStatus;
use crate::error::ToGql;
use crate::graphql::assets::{Asset, SmartCard, Wallet};
use crate::graphql::inputs::{
    input_error, reason_command, AddAssetInput, AddWalletInput, BalanceAdjustmentInput, IssueSmartCardInput,
    StatusReasonInput,
};
use crate::graphql::req;
use crate::service::{asset_write, wallet_card_write as wc};
use async_graphql::{Context, Object, Result};
use uuid::Uuid;

/// Asset, wallet and card mutations.
#[derive(Default)]
pub struct AssetMutation;

#[Object]
impl AssetMutation {
    /// Adds an asset (INACTIVE until activated); one per currency per account.
    async fn add_asset(&self, ctx: &Context<'_>, account_id: Uuid, input: AddAssetInput) -> Result<Asset> {
        let r = req(ctx)?;
        let own = input_error(&["accountId"]);
        let cmd = NewAsset::from(input).check().map_err(&own).gql()?;
        let (model, currency) = asset_write::add(r.store, r.principal, account_id, &cmd).await.map_err(own).gql()?;
        Ok(Asset { model, currency })
    }

    /// Activates or deactivates an asset.
    async fn set_asset_status(&self, ctx: &Context<'_>, id: Uuid, status: AssetStatus) -> Result<Asset> {
        let r = req(ctx)?;
        let (model, currency) = asset_write::set_status(r.store, r.principal, id, status).await.gql()?;
        Ok(Asset { model, currency })
    }

    /// Moves balance fields by the given deltas, exactly once per idempotencyKey.
    async fn adjust_balance(&self, ctx: &Context<'_>, asset_id: Uuid, input: BalanceAdjustmentInput) -> Result<Asset> {
        let r = req(ctx)?;
        let own = input_error(&["assetId"]);
        let cmd = BalanceAdjustment::from(input).check().map_err(&own).gql()?;
        let (model, currency) = asset_write::adjust(r.store, r.principal, asset_id, &cmd).await.map_err(own).gql()?;
        Ok(Asset { model, currency })
    }

    /// Adds a wallet address on a network that carries the asset's currency.
    async fn add_wallet(&self, ctx: &Context<'_>, asset_id: Uuid, input: AddWalletInput) -> Result<Wallet> {
        let r = req(ctx)?;
        let own = input_error(&["assetId"]);
        let cmd = NewWallet::from(input).check().map_err(&own).gql()?;
        let (model, network) = wc::add_wallet(r.store, r.principal, asset_id, &cmd).await.map_err(own).gql()?;
        Ok(Wallet { model, network })
    }

    /// Activates or deactivates a wallet; its network never changes.
    async fn set_wallet_active(&self, ctx: &Context<'_>, id: Uuid, active: bool) -> Result<Wallet> {
        let r = req(ctx)?;
        let (model, network) = wc::set_wallet_active(r.store, r.principal, id, active).await.gql()?;
        Ok(Wallet { model, network })
    }

    /// Issues a card; the number is checked and never stored.
    async fn issue_smart_card(
        &self,
        ctx: &Context<'_>,
        account_id: Uuid,
        input: IssueSmartCardInput,
    ) -> Result<SmartCard> {
        let r = req(ctx)?;
        let own = input_error(&["accountId"]);
        let cmd = NewCard::from(input).check(r.store.clock.now()).map_err(&own).gql()?;
        Ok(SmartCard(wc::issue_card(r.store, r.principal, account_id, &cmd).await.map_err(own).gql()?))
    }

    /// Activates or deactivates a card; a deactivation may say why (kept
    /// in `SmartCard.deactivation`).
    async fn set_smart_card_active(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        active: bool,
        reason: Option<StatusReasonInput>,
    ) -> Result<SmartCard> {
        let r = req(ctx)?;
        let reason = reason_command(reason).gql()?;
        Ok(SmartCard(wc::set_card_active(r.store, r.principal, id, active, &reason).await.gql()?))
    }
}
