//! Prefetch: when a resolver returns a page of accounts, load every
//! relation the query selects under `nodes` / `edges.node` in one batch
//! each, before the per-row resolvers run. The loaders cache per request,
//! so those resolvers then find their rows without another statement.
//!
//! Time-window batching alone is not enough here: resolving 500 rows can
//! outlast the loader's window and split a batch in two, so the statement
//! count would grow with the page. Prefetching makes it one per relation.

use crate::graphql::{load_err, req};
use crate::service::paging::PageResult;
use async_graphql::{Context, Lookahead, Result};
use entity::account;
use futures_util::future::try_join_all;
use std::future::Future;
use std::pin::Pin;

/// A prefetch job; it returns the currency codes whose quotes it needs.
type Job<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>>> + Send + 'a>>;

fn selects(nodes: &[Lookahead<'_>], path: &[&str]) -> bool {
    nodes.iter().any(|n| {
        let Some((head, rest)) = path.split_first() else { return false };
        rest.iter().fold(n.field(head), |sel, name| sel.field(name)).exists()
    })
}

/// Loads what the current field's selection asks of `rows`.
pub async fn prefetch(ctx: &Context<'_>, page: &PageResult<account::Model>) -> Result<()> {
    let rows: Vec<&account::Model> = page.rows.iter().map(|(_, m)| m).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let look = ctx.look_ahead();
    let nodes = [look.field("nodes"), look.field("edges").field("node")];
    let l = req(ctx)?.loaders;
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let mut jobs: Vec<Job<'_>> = Vec::new();
    if selects(&nodes, &["owner"]) {
        let keys: Vec<_> = rows.iter().filter_map(|r| r.owner_id).collect();
        jobs.push(Box::pin(async move { l.clients.load_many(keys).await.map(|_| Vec::new()).map_err(load_err) }));
    }
    if selects(&nodes, &["type"]) {
        let keys: Vec<_> = rows.iter().map(|r| r.type_id).collect();
        jobs.push(Box::pin(async move { l.account_types.load_many(keys).await.map(|_| Vec::new()).map_err(load_err) }));
    }
    if selects(&nodes, &["project"]) {
        let keys: Vec<_> = rows.iter().filter_map(|r| r.project_id).collect();
        jobs.push(Box::pin(async move { l.projects.load_many(keys).await.map(|_| Vec::new()).map_err(load_err) }));
    }
    if selects(&nodes, &["parent"]) {
        let keys: Vec<_> = rows.iter().filter_map(|r| r.parent_id).collect();
        jobs.push(Box::pin(async move { l.accounts.load_many(keys).await.map(|_| Vec::new()).map_err(load_err) }));
    }
    if selects(&nodes, &["smartCards"]) {
        let keys = ids.clone();
        jobs.push(Box::pin(
            async move { l.cards_by_account.load_many(keys).await.map(|_| Vec::new()).map_err(load_err) },
        ));
    }
    if selects(&nodes, &["subAccounts"]) {
        let keys = ids.clone();
        jobs.push(Box::pin(async move { l.children.load_many(keys).await.map(|_| Vec::new()).map_err(load_err) }));
    }
    let wallets = selects(&nodes, &["assets", "wallets"]) || selects(&nodes, &["addresses"]);
    let quotes = selects(&nodes, &["balance"]) || selects(&nodes, &["assets", "valuation"]);
    if wallets || quotes || selects(&nodes, &["assets"]) {
        let keys = ids.clone();
        jobs.push(Box::pin(async move {
            let assets = l.assets_by_account.load_many(keys).await.map_err(load_err)?;
            if wallets {
                let asset_ids: Vec<_> = assets.values().flatten().map(|(a, _)| a.id).collect();
                l.wallets_by_asset.load_many(asset_ids).await.map_err(load_err)?;
            }
            let codes =
                if quotes { assets.values().flatten().map(|(_, c)| c.code.clone()).collect() } else { Vec::new() };
            Ok(codes)
        }));
    }
    if selects(&nodes, &["subAccountsBalance"]) {
        let keys = ids.clone();
        jobs.push(Box::pin(async move {
            let trees = l.subtree.load_many(keys).await.map_err(load_err)?;
            let currency_ids: Vec<_> = trees.values().flatten().filter_map(|r| r.currency_id).collect();
            let currencies = l.currencies.load_many(currency_ids).await.map_err(load_err)?;
            Ok(currencies.values().map(|c| c.code.clone()).collect())
        }));
    }
    // Every quote the page needs, in one batch: one cache round trip and at
    // most one source call.
    let codes: Vec<String> = try_join_all(jobs).await?.into_iter().flatten().collect();
    if !codes.is_empty() {
        l.quotes.load_many(codes).await.map_err(load_err)?;
    }
    Ok(())
}
