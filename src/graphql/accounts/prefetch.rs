//! Prefetch: when a resolver returns a page of accounts, load every
//! relation the query selects under `nodes` / `edges.node` in one batch
//! each, before the per-row resolvers run. The loaders cache per request,
//! so those resolvers then find their rows without another statement.
//!
//! Time-window batching alone is not enough here: resolving 500 rows can
//! outlast the loader's window and split a batch in two, so the statement
//! count would grow with the page. Prefetching makes it one per relation.

use crate::domain::filter::AccountQuery;
use crate::domain::paging::{CursorField, PageArgs};
use crate::domain::HistoryInterval;
use crate::domain::{AccountOrderField, OrderDirection};
use crate::error::ToGql;
use crate::graphql::connection::wants_total;
use crate::graphql::loaders::{load_now, AssetsOf, Cached, Loaders};
use crate::graphql::{load_err, req};
use crate::service::accounts::{self, AccountWith, ListAccounts, Lookup};
use crate::service::paging::PageResult;
use async_graphql::context::SelectionField;
use async_graphql::dataloader::Loader;
use async_graphql::{Context, InputType, Lookahead, Result};
use chrono::{DateTime, Utc};
use entity::account;
use futures_util::future::try_join_all;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

/// A prefetch job; it returns the currency codes whose quotes it needs.
type Job<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>>> + Send + 'a>>;

/// A relation of `Account` that a page loads up front, named by the path
/// of schema fields that selects it under a page's nodes. The paths are
/// checked against the schema by a test, so renaming a field cannot
/// silently turn batching off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Prefetch {
    /// `owner`: clients by id.
    Owner,
    /// `type`: account types by id.
    Type,
    /// `project`: projects by id.
    Project,
    /// `parent`: accounts by id.
    Parent,
    /// `smartCards`: cards by account.
    SmartCards,
    /// `subAccounts`: children by account.
    SubAccounts,
    /// `assets`: assets (with currency) by account.
    Assets,
    /// `assets.wallets`: wallets by asset.
    AssetWallets,
    /// `addresses`: wallets by asset, through the assets.
    Addresses,
    /// `balance`: assets and their quotes.
    Balance,
    /// `assets.valuation`: assets and their quotes.
    AssetValuation,
    /// `subAccountsBalance`: the subtree, its currencies and quotes.
    SubAccountsBalance,
    /// `assets.journal`: each asset's first journal page.
    AssetJournal,
    /// `assets.balanceHistory`: each asset's chart.
    AssetHistory,
}

impl Prefetch {
    /// Every relation.
    pub const ALL: [Prefetch; 14] = [
        Prefetch::Owner,
        Prefetch::Type,
        Prefetch::Project,
        Prefetch::Parent,
        Prefetch::SmartCards,
        Prefetch::SubAccounts,
        Prefetch::Assets,
        Prefetch::AssetWallets,
        Prefetch::Addresses,
        Prefetch::Balance,
        Prefetch::AssetValuation,
        Prefetch::SubAccountsBalance,
        Prefetch::AssetJournal,
        Prefetch::AssetHistory,
    ];

    /// The schema fields, from `Account`, that select this relation.
    pub fn path(self) -> &'static [&'static str] {
        match self {
            Prefetch::Owner => &["owner"],
            Prefetch::Type => &["type"],
            Prefetch::Project => &["project"],
            Prefetch::Parent => &["parent"],
            Prefetch::SmartCards => &["smartCards"],
            Prefetch::SubAccounts => &["subAccounts"],
            Prefetch::Assets => &["assets"],
            Prefetch::AssetWallets => &["assets", "wallets"],
            Prefetch::Addresses => &["addresses"],
            Prefetch::Balance => &["balance"],
            Prefetch::AssetValuation => &["assets", "valuation"],
            Prefetch::SubAccountsBalance => &["subAccountsBalance"],
            Prefetch::AssetJournal => &["assets", "journal"],
            Prefetch::AssetHistory => &["assets", "balanceHistory"],
        }
    }

    /// Whether any of `nodes` selects this relation.
    fn selected(self, nodes: &[Lookahead<'_>]) -> bool {
        !self.selections(nodes).is_empty()
    }

    /// Each selection of this relation under any of `nodes` (a field asked
    /// twice with other arguments is two).
    fn selections<'a>(self, nodes: &[Lookahead<'a>]) -> Vec<SelectionField<'a>> {
        let Some((head, rest)) = self.path().split_first() else { return Vec::new() };
        let found = nodes.iter().map(|n| rest.iter().fold(n.field(head), |sel, name| sel.field(name)));
        found.flat_map(|sel| sel.selection_fields()).collect()
    }
}

/// The argument `name` of a selection, as `T`; `None` when absent or not
/// a `T` (the field's own resolver then reports it).
fn argument<T: InputType>(args: &[(async_graphql::Name, async_graphql::Value)], name: &str) -> Option<T> {
    let value = args.iter().find(|(n, _)| n.as_str() == name).map(|(_, v)| v.clone());
    T::parse(value).ok()
}

/// The keys of the first journal pages the selections ask for: the row
/// count a page reads (its size plus one). A later page (`after`) or one
/// with its `totalCount` is read by its resolver alone.
fn journal_limits(selections: &[SelectionField<'_>]) -> Vec<u64> {
    selections
        .iter()
        .filter(|sel| !sel.selection_set().any(|f| f.name() == "totalCount"))
        .filter_map(|sel| {
            let args = sel.arguments().ok()?;
            if argument::<String>(&args, "after").is_some() {
                return None;
            }
            let first = argument::<i32>(&args, "first");
            let page = PageArgs { first, ..Default::default() }.validate(CursorField::At).ok()?;
            Some(page.limit + 1)
        })
        .collect()
}

/// The ranges of the charts the selections ask for.
fn chart_ranges(selections: &[SelectionField<'_>]) -> Vec<(DateTime<Utc>, DateTime<Utc>, HistoryInterval)> {
    selections
        .iter()
        .filter_map(|sel| {
            let args = sel.arguments().ok()?;
            Some((argument(&args, "from")?, argument(&args, "to")?, argument(&args, "interval")?))
        })
        .collect()
}

/// What a selection of `Account` asks to be loaded.
struct Wants {
    owner: bool,
    kind: bool,
    project: bool,
    parent: bool,
    cards: bool,
    children: bool,
    assets: bool,
    wallets: bool,
    quotes: bool,
    subtree: bool,
    /// First journal pages, by rows read per asset.
    journals: Vec<u64>,
    /// Charts, by range.
    charts: Vec<(DateTime<Utc>, DateTime<Utc>, HistoryInterval)>,
}

impl Wants {
    /// What the current field's page (its `nodes` or `edges.node`) asks of
    /// its accounts.
    fn of_page(ctx: &Context<'_>) -> Self {
        let look = ctx.look_ahead();
        Wants::of(&[look.field("nodes"), look.field("edges").field("node")])
    }

    /// What any of `nodes` (selections of `Account`) asks for.
    fn of(nodes: &[Lookahead<'_>]) -> Self {
        let selects = |p: Prefetch| p.selected(nodes);
        let wallets = selects(Prefetch::AssetWallets) || selects(Prefetch::Addresses);
        let quotes = selects(Prefetch::Balance) || selects(Prefetch::AssetValuation);
        let journals = journal_limits(&Prefetch::AssetJournal.selections(nodes));
        let charts = chart_ranges(&Prefetch::AssetHistory.selections(nodes));
        let history = !journals.is_empty() || !charts.is_empty();
        Wants {
            owner: selects(Prefetch::Owner),
            kind: selects(Prefetch::Type),
            project: selects(Prefetch::Project),
            parent: selects(Prefetch::Parent),
            cards: selects(Prefetch::SmartCards),
            children: selects(Prefetch::SubAccounts),
            assets: wallets || quotes || history || selects(Prefetch::Assets),
            wallets,
            quotes,
            subtree: selects(Prefetch::SubAccountsBalance),
            journals,
            charts,
        }
    }
}

/// The assets of `accounts` (already read, `joined`, or read here with
/// their wallets in the same statement when those are wanted), then their
/// wallets; the codes of their currencies when their quotes are wanted.
async fn assets(
    l: &Loaders,
    accounts: Vec<Uuid>,
    joined: Option<&HashMap<Uuid, AssetsOf>>,
    wants: &Wants,
) -> Result<Vec<String>> {
    let read;
    let assets = match joined {
        Some(assets) => {
            if wants.wallets {
                let asset_ids: Vec<_> = assets.values().flatten().map(|(a, _)| a.id).collect();
                load_now(&l.wallets_by_asset, asset_ids).await.map_err(load_err)?;
            }
            assets
        }
        None if wants.wallets => {
            read = l.assets_with_wallets(accounts).await.map_err(load_err)?;
            &read
        }
        None => {
            read = load_now(&l.assets_by_account, accounts).await.map_err(load_err)?;
            &read
        }
    };
    history(l, assets, wants).await?;
    Ok(if wants.quotes { assets.values().flatten().map(|(_, c)| c.code.clone()).collect() } else { Vec::new() })
}

/// The first journal pages and the charts of `assets`' assets, one load
/// each for the whole page.
async fn history(l: &Loaders, assets: &HashMap<Uuid, AssetsOf>, wants: &Wants) -> Result<()> {
    let ids: Vec<Uuid> = assets.values().flatten().map(|(a, _)| a.id).collect();
    for limit in &wants.journals {
        load_now(&l.journal_by_asset, ids.iter().map(|a| (*a, *limit)).collect()).await.map_err(load_err)?;
    }
    for (from, to, interval) in &wants.charts {
        let keys = ids.iter().map(|a| (*a, *from, *to, *interval)).collect();
        load_now(&l.charts, keys).await.map_err(load_err)?;
    }
    Ok(())
}

/// The subtrees of `roots` and their currencies, whose codes it returns.
async fn subtrees(l: &Loaders, roots: Vec<Uuid>) -> Result<Vec<String>> {
    let trees = load_now(&l.subtree, roots).await.map_err(load_err)?;
    let currency_ids: Vec<_> = trees.values().flatten().filter_map(|r| r.currency_id).collect();
    let currencies = load_now(&l.currencies, currency_ids).await.map_err(load_err)?;
    Ok(currencies.values().map(|c| c.code.clone()).collect())
}

/// A job that only fills `loader`'s cache with the rows of `keys`.
fn warm<'a, K, L>(loader: &'a Cached<L>, keys: Vec<K>) -> Job<'a>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K, Error = crate::error::AppError>,
    L::Value: Clone,
{
    Box::pin(async move { load_now(loader, keys).await.map(|_| Vec::new()).map_err(load_err) })
}

/// Loads what the current field's selection asks of a page's rows.
pub async fn prefetch(ctx: &Context<'_>, page: &PageResult<account::Model>) -> Result<()> {
    let rows: Vec<&account::Model> = page.rows.iter().map(|(_, m)| m).collect();
    prefetch_rows(ctx, &rows, &Wants::of_page(ctx), None).await
}

/// One page of the accounts `query` matches, with what the current
/// field's selection asks of its rows loaded: their owners and types in
/// the page's own statement when selected, the other relations one
/// statement each, as [`prefetch`] loads them.
pub async fn read_page(
    ctx: &Context<'_>,
    query: &AccountQuery,
    order: (AccountOrderField, OrderDirection),
    args: &PageArgs,
) -> Result<PageResult<account::Model>> {
    let r = req(ctx)?;
    let org = r.principal.organization_id;
    let wants = Wants::of_page(ctx);
    let list = ListAccounts { org, query, order, args, with_total: wants_total(ctx) };
    let page = if wants.owner || wants.kind {
        let found = accounts::list_with_owners_and_types(r.db, list).await.gql()?;
        r.loaders.clients.feed_many(found.owners.into_iter().map(|o| (o.id, o))).await;
        r.loaders.account_types.feed_many(found.types.into_iter().map(|t| (t.id, t))).await;
        found.page
    } else {
        accounts::list(r.db, list).await.gql()?
    };
    let rows: Vec<&account::Model> = page.rows.iter().map(|(_, m)| m).collect();
    prefetch_rows(ctx, &rows, &Wants { owner: false, kind: false, ..wants }, None).await?;
    Ok(page)
}

/// The account `key` names, with what the current field's selection asks
/// of it loaded at once instead of a batching window per level of the
/// query: the account, its owner and its assets in one statement when
/// those are asked for, the rest as a page's.
pub async fn find_one(ctx: &Context<'_>, key: Lookup) -> Result<Option<account::Model>> {
    let r = req(ctx)?;
    let org = r.principal.organization_id;
    let wants = Wants::of(&[ctx.look_ahead()]);
    if !(wants.owner || wants.assets) {
        let found = accounts::find(r.db, org, key).await.gql()?;
        if let Some(account) = &found {
            prefetch_rows(ctx, &[account], &wants, None).await?;
        }
        return Ok(found);
    }
    let Some(AccountWith { account, owner, assets }) = accounts::find_with_relations(r.db, org, key).await.gql()?
    else {
        return Ok(None);
    };
    if let Some(owner) = owner {
        r.loaders.clients.feed_one(owner.id, owner).await;
    }
    let joined = HashMap::from([(account.id, assets)]);
    prefetch_rows(ctx, &[&account], &Wants { owner: false, ..wants }, Some(&joined)).await?;
    r.loaders.assets_by_account.feed_many(joined).await;
    Ok(Some(account))
}

/// Loads the relations of `rows` that `wants` asks for (a caller that read
/// some with the rows leaves them out of `wants`); `joined`, when the rows
/// were read with their assets, holds those assets.
async fn prefetch_rows(
    ctx: &Context<'_>,
    rows: &[&account::Model],
    wants: &Wants,
    joined: Option<&HashMap<Uuid, AssetsOf>>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let l = req(ctx)?.loaders;
    let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
    let mut jobs: Vec<Job<'_>> = Vec::new();
    if wants.owner {
        let keys: Vec<_> = rows.iter().filter_map(|r| r.owner_id).collect();
        jobs.push(warm(&l.clients, keys));
    }
    if wants.kind {
        let keys: Vec<_> = rows.iter().map(|r| r.type_id).collect();
        jobs.push(warm(&l.account_types, keys));
    }
    if wants.project {
        let keys: Vec<_> = rows.iter().filter_map(|r| r.project_id).collect();
        jobs.push(warm(&l.projects, keys));
    }
    if wants.parent {
        let keys: Vec<_> = rows.iter().filter_map(|r| r.parent_id).collect();
        jobs.push(warm(&l.accounts, keys));
    }
    if wants.cards {
        jobs.push(warm(&l.cards_by_account, ids.clone()));
    }
    if wants.children {
        jobs.push(warm(&l.children, ids.clone()));
    }
    if wants.assets {
        jobs.push(Box::pin(assets(l, ids.clone(), joined, wants)));
    }
    if wants.subtree {
        jobs.push(Box::pin(subtrees(l, ids.clone())));
    }
    // Every quote the page needs, in one batch: one cache round trip and at
    // most one source call.
    let codes: Vec<String> = try_join_all(jobs).await?.into_iter().flatten().collect();
    if !codes.is_empty() {
        load_now(&l.quotes, codes).await.map_err(load_err)?;
    }
    Ok(())
}
