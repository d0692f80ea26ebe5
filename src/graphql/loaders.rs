//! DataLoaders: one per relation, built per request for the caller's
//! organization, so a page of 5 or 500 accounts costs the same handful of
//! statements (`IN (...)` over the page's keys).
//!
//! Three generic shapes cover every relation: a row by id, the rows of a
//! parent, and the rows of a parent joined with a related row (assets with
//! their currency, wallets with their network) so that the join saves a
//! whole wave of loading.

use crate::domain::HistoryInterval;
use crate::error::AppError;
use crate::pricing::{QuoteView, Quotes};
use crate::read_pool::ReadDb;
use crate::service::by_index::{self, ByIndex};
use crate::service::journal;
use crate::service::subtree::{self, SubtreeRow};
use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use chrono::{DateTime, Utc};
use entity::{
    account, account_type, asset, balance_entry, client, currency, currency_network, network, project, smart_card,
    transfer, wallet,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, ModelTrait, Order, QueryFilter, QueryOrder,
    Related, Value,
};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The tenant and connection every loader of one request shares.
pub struct Scope {
    db: ReadDb,
    org: Uuid,
}

/// A table whose rows each belong to one organization. Its key columns
/// are named by type: renaming one fails the build instead of turning a
/// loader into a run-time error.
pub trait Tenanted: EntityTrait {
    /// The organization column.
    const ORGANIZATION: Self::Column;
    /// The column that breaks ties in an order (the id), where there is one.
    const TIE_BREAK: Option<Self::Column>;
}

/// A tenant table with a single-column id.
pub trait WithId: Tenanted {
    /// The id column.
    const ID: Self::Column;
}

macro_rules! with_id {
    ($($table:ident),+) => {$(
        impl Tenanted for $table::Entity {
            const ORGANIZATION: $table::Column = $table::Column::OrganizationId;
            const TIE_BREAK: Option<$table::Column> = Some($table::Column::Id);
        }
        impl WithId for $table::Entity {
            const ID: $table::Column = $table::Column::Id;
        }
    )+};
}

with_id!(account, account_type, asset, client, currency, network, project, smart_card, transfer, wallet);

impl Tenanted for currency_network::Entity {
    const ORGANIZATION: currency_network::Column = currency_network::Column::OrganizationId;
    const TIE_BREAK: Option<currency_network::Column> = None;
}

fn uuid_of<M: ModelTrait>(m: &M, c: <M::Entity as EntityTrait>::Column) -> Option<Uuid> {
    match m.get(c) {
        Value::Uuid(Some(u)) => Some(u),
        _ => None,
    }
}

/// The rows of the scope's tenant whose `key` is one of `keys`.
fn tenant<E: Tenanted>(scope: &Scope, key: E::Column, keys: &[Uuid]) -> Condition {
    Condition::all().add(E::ORGANIZATION.eq(scope.org)).add(one_of(scope.db.get_database_backend(), key, keys))
}

/// `key` is one of `keys`. On PostgreSQL the keys go as one array
/// (`= ANY($1)`), so a loader's statement has one text whatever the number
/// of keys: prepared once per connection and planned once. An
/// `IN ($1, ..., $50)` list is another statement for each count, planned
/// at every run (a join of four tables so cost PostgreSQL 2 ms per page).
/// SQLite has no arrays.
fn one_of<C: ColumnTrait>(backend: DbBackend, key: C, keys: &[Uuid]) -> sea_orm::sea_query::Expr {
    match backend {
        DbBackend::Postgres => key.eq_any(keys.iter().copied()),
        _ => key.is_in(keys.iter().copied()),
    }
}

/// Applies `order`, then the id (in the last direction) so that rows with
/// equal timestamps keep one stable order. Join tables have no id.
fn ordered<E: Tenanted>(mut q: sea_orm::Select<E>, order: &[(E::Column, Order)]) -> sea_orm::Select<E> {
    for (c, o) in order {
        q = q.order_by(*c, o.clone());
    }
    match (E::TIE_BREAK, order.last()) {
        (Some(id), Some((_, o))) => q.order_by(id, o.clone()),
        _ => q,
    }
}

/// A row by its id.
pub struct ById<E> {
    scope: Arc<Scope>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Loader<Uuid> for ById<E>
where
    E: WithId,
    E::Model: Clone + Sync + ByIndex,
{
    type Value = E::Model;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, AppError> {
        let rows = by_index::all(&self.scope.db, E::find().filter(tenant::<E>(&self.scope, E::ID, keys))).await?;
        Ok(rows.into_iter().filter_map(|m| uuid_of(&m, E::ID).map(|k| (k, m))).collect())
    }
}

/// The rows whose `key` column holds a parent id, in `order`.
pub struct Grouped<E: EntityTrait> {
    scope: Arc<Scope>,
    key: E::Column,
    extra: Condition,
    order: Vec<(E::Column, Order)>,
}

impl<E> Loader<Uuid> for Grouped<E>
where
    E: Tenanted,
    E::Model: Clone + Sync + ByIndex,
{
    type Value = Vec<E::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<E::Model>>, AppError> {
        let q =
            ordered(E::find().filter(tenant::<E>(&self.scope, self.key, keys)).filter(self.extra.clone()), &self.order);
        // Every key gets an entry, empty ones too, so the cache remembers
        // "none" and a later lookup costs no statement.
        let mut out: HashMap<Uuid, Vec<E::Model>> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for m in by_index::all(&self.scope.db, q).await? {
            if let Some(k) = uuid_of(&m, self.key) {
                out.entry(k).or_default().push(m);
            }
        }
        Ok(out)
    }
}

/// Like [`Grouped`], each row joined with its related `R` row.
pub struct GroupedWith<E: EntityTrait, R> {
    scope: Arc<Scope>,
    key: E::Column,
    order: Vec<(E::Column, Order)>,
    _related: PhantomData<fn() -> R>,
}

impl<E, R> Loader<Uuid> for GroupedWith<E, R>
where
    E: Tenanted + Related<R>,
    R: EntityTrait,
    E::Model: Clone + Sync + ByIndex,
    R::Model: Clone + Sync + ByIndex,
{
    type Value = Vec<(E::Model, R::Model)>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, AppError> {
        let q = ordered(E::find().filter(tenant::<E>(&self.scope, self.key, keys)), &self.order);
        let mut out: HashMap<Uuid, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        let joined = q.find_also_related(R::default());
        for (m, related) in by_index::pairs::<_, _, E::Model, R::Model>(&self.scope.db, &joined).await? {
            if let (Some(k), Some(r)) = (uuid_of(&m, self.key), related) {
                out.entry(k).or_default().push((m, r));
            }
        }
        Ok(out)
    }
}

/// USD quotes by currency code, through the quote cache: one batch per
/// request wave, whatever the number of assets.
pub struct QuoteLoader {
    quotes: Quotes,
}

impl Loader<String> for QuoteLoader {
    type Value = QuoteView;
    type Error = AppError;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, QuoteView>, AppError> {
        Ok(self.quotes.get_many(keys).await)
    }
}

/// The balance journal's row in force at an instant, by (asset, instant).
pub struct BalanceAtLoader {
    scope: Arc<Scope>,
}

impl Loader<(Uuid, chrono::DateTime<chrono::Utc>)> for BalanceAtLoader {
    type Value = entity::balance_entry::Model;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(Uuid, chrono::DateTime<chrono::Utc>)],
    ) -> Result<HashMap<(Uuid, chrono::DateTime<chrono::Utc>), Self::Value>, AppError> {
        crate::service::journal::latest_at(&self.scope.db, self.scope.org, keys).await
    }
}

/// The quote in force at an instant, by (currency code, instant), from the
/// quote history; USD is 1 at any instant.
pub struct QuoteAtLoader {
    scope: Arc<Scope>,
    quotes: Quotes,
}

impl Loader<(String, chrono::DateTime<chrono::Utc>)> for QuoteAtLoader {
    type Value = QuoteView;
    type Error = AppError;

    async fn load(
        &self,
        keys: &[(String, chrono::DateTime<chrono::Utc>)],
    ) -> Result<HashMap<(String, chrono::DateTime<chrono::Utc>), QuoteView>, AppError> {
        let (usd, others): (Vec<_>, Vec<_>) = keys.iter().cloned().partition(|(c, _)| c == "USD");
        let mut out: HashMap<_, _> = usd
            .into_iter()
            .map(|(c, at)| {
                let quote =
                    crate::pricing::CachedQuote { rate: rust_decimal::Decimal::ONE, at, source: "fixed".into() };
                ((c.clone(), at), QuoteView { currency: c, quote, stale: false })
            })
            .collect();
        let fresh = self.quotes.freshness();
        let view = |code: String, at: chrono::DateTime<chrono::Utc>, quote: crate::pricing::CachedQuote| {
            let stale = at.signed_duration_since(quote.at).to_std().unwrap_or_default() >= fresh;
            QuoteView { currency: code, quote, stale }
        };
        for ((code, at), m) in crate::service::quote_history::latest_at(&self.scope.db, &others).await? {
            let quote = crate::pricing::CachedQuote { rate: m.rate.0, at: m.at, source: m.source };
            out.insert((code.clone(), at), view(code, at, quote));
        }
        // A recent instant also sees the quotes a current valuation uses,
        // which the history may not hold yet; the newer one wins.
        let mut by_instant: HashMap<chrono::DateTime<chrono::Utc>, Vec<String>> = HashMap::new();
        for (code, at) in others {
            by_instant.entry(at).or_default().push(code);
        }
        for (at, codes) in by_instant {
            for (code, live) in self.quotes.current_at(&codes, at).await {
                let key = (code.clone(), at);
                if out.get(&key).is_none_or(|kept| kept.quote.at < live.at) {
                    out.insert(key, view(code, at, live));
                }
            }
        }
        Ok(out)
    }
}

/// The newest rows of each parent, by (parent, how many): one `read` per
/// distinct count, for all the parents asking for it.
async fn newest_per_limit<V, F, Fut>(keys: &[(Uuid, u64)], read: F) -> Result<HashMap<(Uuid, u64), Vec<V>>, AppError>
where
    F: Fn(Vec<Uuid>, u64) -> Fut,
    Fut: std::future::Future<Output = Result<HashMap<Uuid, Vec<V>>, AppError>>,
{
    let mut by_limit: HashMap<u64, Vec<Uuid>> = HashMap::new();
    for (parent, limit) in keys {
        by_limit.entry(*limit).or_default().push(*parent);
    }
    let mut out = HashMap::new();
    for (limit, parents) in by_limit {
        let mut found = read(parents.clone(), limit).await?;
        out.extend(parents.into_iter().map(|p| ((p, limit), found.remove(&p).unwrap_or_default())));
    }
    Ok(out)
}

/// The newest transfers of each account, by (account, how many).
pub struct TransfersByAccount {
    scope: Arc<Scope>,
}

impl Loader<(Uuid, u64)> for TransfersByAccount {
    type Value = Vec<transfer::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[(Uuid, u64)]) -> Result<HashMap<(Uuid, u64), Vec<transfer::Model>>, AppError> {
        let scope = &self.scope;
        newest_per_limit(keys, |accounts, limit| async move {
            crate::service::transfers::newest_by_account(&scope.db, scope.org, &accounts, limit).await
        })
        .await
    }
}

/// The newest journal rows of each asset, by (asset, how many): the first
/// journal page of a whole page of assets in one statement.
pub struct JournalByAsset {
    scope: Arc<Scope>,
}

impl Loader<(Uuid, u64)> for JournalByAsset {
    type Value = Vec<balance_entry::Model>;
    type Error = AppError;

    async fn load(&self, keys: &[(Uuid, u64)]) -> Result<HashMap<(Uuid, u64), Self::Value>, AppError> {
        let scope = &self.scope;
        newest_per_limit(keys, |assets, limit| async move {
            journal::newest_by_asset(&scope.db, scope.org, &assets, limit).await
        })
        .await
    }
}

/// What a balance chart shows: an asset, its range and its interval.
pub type ChartKey = (Uuid, DateTime<Utc>, DateTime<Utc>, HistoryInterval);

/// Balance charts, every asset of a page with the same range in one go.
pub struct ChartByAsset {
    scope: Arc<Scope>,
}

impl Loader<ChartKey> for ChartByAsset {
    type Value = Vec<journal::Point>;
    type Error = AppError;

    async fn load(&self, keys: &[ChartKey]) -> Result<HashMap<ChartKey, Self::Value>, AppError> {
        let mut by_range: HashMap<(DateTime<Utc>, DateTime<Utc>, HistoryInterval), Vec<Uuid>> = HashMap::new();
        for (asset, from, to, interval) in keys {
            by_range.entry((*from, *to, *interval)).or_default().push(*asset);
        }
        let mut out = HashMap::new();
        for ((from, to, interval), assets) in by_range {
            let mut charts = journal::histories(&self.scope.db, self.scope.org, &assets, from, to, interval).await?;
            out.extend(assets.into_iter().map(|a| ((a, from, to, interval), charts.remove(&a).unwrap_or_default())));
        }
        Ok(out)
    }
}

/// Descendant accounts and their assets, by root account.
pub struct SubtreeLoader {
    scope: Arc<Scope>,
}

impl Loader<Uuid> for SubtreeLoader {
    type Value = Vec<SubtreeRow>;
    type Error = AppError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<SubtreeRow>>, AppError> {
        subtree::rows(&self.scope.db, self.scope.org, keys).await
    }
}

/// A loader that caches what it loaded for the rest of the request.
pub type Cached<L> = DataLoader<L, HashMapCache>;

/// `keys` without repeats, in their first order.
fn distinct<K: std::hash::Hash + Eq + Clone>(mut keys: Vec<K>) -> Vec<K> {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.retain(|k| seen.insert(k.clone()));
    keys
}

/// Loads `keys` at once, in the calling task, and leaves the rows in the
/// loader's cache for the per-row resolvers. A prefetch already holds every
/// key of its wave: going through `load_many` would only add the batching
/// window and a spawned task (and its thread switches) to each wave.
pub async fn load_now<K, L>(
    loader: &DataLoader<L, HashMapCache>,
    keys: Vec<K>,
) -> Result<HashMap<K, L::Value>, L::Error>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K>,
    L::Value: Clone,
{
    let keys = distinct(keys);
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    // A batch like the loader's own, so a trace shows it the same way.
    let batch = crate::telemetry::spans::loader_batch(std::any::type_name::<L>());
    batch.record("keys", keys.len());
    let values = tracing::Instrument::instrument(loader.loader().load(&keys), batch).await?;
    loader.feed_many(values.iter().map(|(k, v)| (k.clone(), v.clone()))).await;
    Ok(values)
}

/// Every loader of one request.
pub struct Loaders {
    /// Accounts by id (parents, the account of an asset).
    pub accounts: Cached<ById<account::Entity>>,
    /// Clients by id (owners).
    pub clients: Cached<ById<client::Entity>>,
    /// Account types by id.
    pub account_types: Cached<ById<account_type::Entity>>,
    /// Projects by id.
    pub projects: Cached<ById<project::Entity>>,
    /// Assets (with currency) by account id.
    pub assets_by_account: Cached<GroupedWith<asset::Entity, currency::Entity>>,
    /// An asset (with currency) by its own id.
    pub asset_by_id: Cached<GroupedWith<asset::Entity, currency::Entity>>,
    /// Wallets (with network) by asset id.
    pub wallets_by_asset: Cached<GroupedWith<wallet::Entity, network::Entity>>,
    /// Smart cards by account id.
    pub cards_by_account: Cached<Grouped<smart_card::Entity>>,
    /// Live sub-accounts by parent id, newest first.
    pub children: Cached<Grouped<account::Entity>>,
    /// Networks a currency lives on, by currency id.
    pub networks_by_currency: Cached<GroupedWith<currency_network::Entity, network::Entity>>,
    /// Currencies by id.
    pub currencies: Cached<ById<currency::Entity>>,
    /// USD quotes by currency code.
    pub quotes: DataLoader<QuoteLoader, HashMapCache>,
    /// Descendants' balances by root account.
    pub subtree: Cached<SubtreeLoader>,
    /// Currencies living on a network, by network id.
    pub currencies_by_network: Cached<GroupedWith<currency_network::Entity, currency::Entity>>,
    /// An asset's balance at an instant, from its journal.
    pub balance_at: DataLoader<BalanceAtLoader, HashMapCache>,
    /// A currency's quote at an instant, from the quote history.
    pub quotes_at: DataLoader<QuoteAtLoader, HashMapCache>,
    /// Transfers by id (a journal entry's transfer, `transfer(id)`).
    pub transfers: Cached<ById<transfer::Entity>>,
    /// The first page of each account's transfers (`Account.transfers`).
    pub transfers_by_account: DataLoader<TransfersByAccount, HashMapCache>,
    /// The first page of each asset's journal (`Asset.journal`).
    pub journal_by_asset: DataLoader<JournalByAsset, HashMapCache>,
    /// Balance charts (`Asset.balanceHistory`).
    pub charts: DataLoader<ChartByAsset, HashMapCache>,
    /// The connection every loader reads through (a query's may be a
    /// replica), for the resolvers' own reads.
    db: ReadDb,
}

/// A loader that gathers keys for `delay`. A page of 500 accounts with 3
/// assets each is 1,500 keys: the batch bound keeps that one statement, so
/// the statement count does not grow with the page.
fn batched<K, L>(loader: L, delay: Duration) -> DataLoader<L, HashMapCache>
where
    K: Send + Sync + std::hash::Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    DataLoader::with_cache(loader, crate::metrics::spawner(std::any::type_name::<L>()), HashMapCache::default())
        .delay(delay)
        .max_batch_size(10_000)
}

fn newest_last<C>(c: C) -> Vec<(C, Order)> {
    vec![(c, Order::Asc)]
}

impl Loaders {
    /// Turns every cache off: for subscriptions, whose request lives as long
    /// as the socket and must read each event's rows fresh.
    pub fn without_cache(self) -> Self {
        self.accounts.enable_all_cache(false);
        self.clients.enable_all_cache(false);
        self.account_types.enable_all_cache(false);
        self.projects.enable_all_cache(false);
        self.assets_by_account.enable_all_cache(false);
        self.asset_by_id.enable_all_cache(false);
        self.wallets_by_asset.enable_all_cache(false);
        self.cards_by_account.enable_all_cache(false);
        self.children.enable_all_cache(false);
        self.networks_by_currency.enable_all_cache(false);
        self.currencies.enable_all_cache(false);
        self.quotes.enable_all_cache(false);
        self.subtree.enable_all_cache(false);
        self.currencies_by_network.enable_all_cache(false);
        self.balance_at.enable_all_cache(false);
        self.quotes_at.enable_all_cache(false);
        self.transfers.enable_all_cache(false);
        self.transfers_by_account.enable_all_cache(false);
        self.journal_by_asset.enable_all_cache(false);
        self.charts.enable_all_cache(false);
        self
    }

    /// Loaders for `org`, batching for `delay`.
    pub fn new(db: ReadDb, org: Uuid, delay: Duration, quotes: Quotes) -> Self {
        let scope = Arc::new(Scope { db: db.clone(), org });
        let with = |key, order| GroupedWith { scope: scope.clone(), key, order, _related: PhantomData };
        Loaders {
            accounts: batched(ById { scope: scope.clone(), _entity: PhantomData }, delay),
            clients: batched(ById { scope: scope.clone(), _entity: PhantomData }, delay),
            account_types: batched(ById { scope: scope.clone(), _entity: PhantomData }, delay),
            projects: batched(ById { scope: scope.clone(), _entity: PhantomData }, delay),
            assets_by_account: batched(with(asset::Column::AccountId, newest_last(asset::Column::CreatedAt)), delay),
            asset_by_id: batched(with(asset::Column::Id, vec![]), delay),
            wallets_by_asset: batched(
                GroupedWith {
                    scope: scope.clone(),
                    key: wallet::Column::AssetId,
                    order: newest_last(wallet::Column::CreatedAt),
                    _related: PhantomData,
                },
                delay,
            ),
            cards_by_account: batched(
                Grouped {
                    scope: scope.clone(),
                    key: smart_card::Column::AccountId,
                    extra: Condition::all(),
                    order: newest_last(smart_card::Column::CreatedAt),
                },
                delay,
            ),
            children: batched(
                Grouped {
                    scope: scope.clone(),
                    key: account::Column::ParentId,
                    extra: Condition::all().add(account::Column::DeletedAt.is_null()),
                    order: vec![(account::Column::CreatedAt, Order::Desc)],
                },
                delay,
            ),
            networks_by_currency: batched(
                GroupedWith {
                    scope: scope.clone(),
                    key: currency_network::Column::CurrencyId,
                    order: vec![],
                    _related: PhantomData,
                },
                delay,
            ),
            currencies: batched(ById { scope: scope.clone(), _entity: PhantomData }, delay),
            quotes: batched(QuoteLoader { quotes: quotes.clone() }, delay),
            subtree: batched(SubtreeLoader { scope: scope.clone() }, delay),
            balance_at: batched(BalanceAtLoader { scope: scope.clone() }, delay),
            quotes_at: batched(QuoteAtLoader { scope: scope.clone(), quotes: quotes.clone() }, delay),
            transfers: batched(ById { scope: scope.clone(), _entity: PhantomData }, delay),
            transfers_by_account: batched(TransfersByAccount { scope: scope.clone() }, delay),
            journal_by_asset: batched(JournalByAsset { scope: scope.clone() }, delay),
            charts: batched(ChartByAsset { scope: scope.clone() }, delay),
            currencies_by_network: batched(
                GroupedWith {
                    scope: scope.clone(),
                    key: currency_network::Column::NetworkId,
                    order: vec![],
                    _related: PhantomData,
                },
                delay,
            ),
            db,
        }
    }

    /// The connection the loaders read through.
    pub fn db(&self) -> &ReadDb {
        &self.db
    }

    /// The assets (with currency) of `accounts` and their wallets (with
    /// network), read in one statement and left in both loaders' caches,
    /// like [`load_now`] would: a page that shows wallets costs one
    /// statement for the two levels instead of one each.
    pub async fn assets_with_wallets(&self, accounts: Vec<Uuid>) -> Result<HashMap<Uuid, AssetsOf>, AppError> {
        let accounts = distinct(accounts);
        if accounts.is_empty() {
            return Ok(HashMap::new());
        }
        let scope = &self.assets_by_account.loader().scope;
        let batch = crate::telemetry::spans::loader_batch("AssetsWithWallets");
        batch.record("keys", accounts.len());
        let query = asset::Entity::find()
            .filter(tenant::<asset::Entity>(scope, asset::Column::AccountId, &accounts))
            .find_also_related(currency::Entity)
            .find_also(asset::Entity, wallet::Entity)
            .find_also(wallet::Entity, network::Entity)
            .order_by(asset::Column::CreatedAt, Order::Asc)
            .order_by(asset::Column::Id, Order::Asc)
            .order_by(wallet::Column::CreatedAt, Order::Asc)
            .order_by(wallet::Column::Id, Order::Asc);
        let rows = tracing::Instrument::instrument(by_index::rows(&scope.db, &query), batch).await?;
        // Every key gets an entry, empty ones too, as the loaders do.
        let mut assets: HashMap<Uuid, AssetsOf> = accounts.iter().map(|k| (*k, Vec::new())).collect();
        let mut wallets: HashMap<Uuid, Vec<(wallet::Model, network::Model)>> = HashMap::new();
        // Asset, currency, wallet and network columns, one after another.
        let c_at = asset::Model::FIELDS.len();
        let w_at = c_at + currency::Model::FIELDS.len();
        let n_at = w_at + wallet::Model::FIELDS.len();
        for row in &rows {
            let a = asset::Model::decode(row, 0)?;
            let Some(c) = currency::Model::decode_joined(row, c_at)? else { continue };
            let (w, n) = (wallet::Model::decode_joined(row, w_at)?, network::Model::decode_joined(row, n_at)?);
            // One row per wallet: an asset is taken from its first row.
            let of_asset = wallets.entry(a.id).or_insert_with(|| {
                assets.entry(a.account_id).or_default().push((a, c));
                Vec::new()
            });
            if let (Some(w), Some(n)) = (w, n) {
                if w.organization_id == scope.org {
                    of_asset.push((w, n));
                }
            }
        }
        self.wallets_by_asset.feed_many(wallets).await;
        self.assets_by_account.feed_many(assets.iter().map(|(k, v)| (*k, v.clone()))).await;
        Ok(assets)
    }
}

/// An account's assets, each with its currency.
pub type AssetsOf = Vec<(asset::Model, currency::Model)>;

#[cfg(test)]
mod tests {
    use entity::asset;
    use sea_orm::{DbBackend, EntityTrait, QueryFilter, QueryTrait};
    use uuid::Uuid;

    #[test]
    fn a_loader_statement_has_one_text_whatever_the_number_of_keys() {
        let built = |n: usize| {
            let keys: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
            asset::Entity::find()
                .filter(super::one_of(DbBackend::Postgres, asset::Column::AccountId, &keys))
                .build(DbBackend::Postgres)
        };
        let (three, fifty) = (built(3), built(50));
        assert_eq!(three.sql, fifty.sql);
        assert!(fifty.sql.ends_with(r#"WHERE "assets"."account_id" = ANY($1)"#), "{}", fifty.sql);
        assert_eq!(fifty.values.map(|v| v.0.len()), Some(1), "one array parameter");
    }
}
