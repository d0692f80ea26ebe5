//! The GraphQL schema: a thin layer of objects over the service layer.
//!
//! Objects wrap entity models (they never derive from them, so a column
//! rename cannot change the API). Nested fields go through [`loaders`].

pub mod account_events;
pub mod accounts;
pub mod aggregate;
pub mod asset_mutation;
pub mod assets;
pub mod audit;
pub mod catalog;
pub mod catalog_mutation;
pub mod clients;
pub mod connection;
pub mod documents;
pub mod fast;
pub mod filters;
pub mod inputs;
pub mod journal;
pub mod limits;
pub mod loaders;
pub mod subscriptions;
pub mod transfers;
pub mod valuation;
pub mod viewer;
pub mod weights;

use crate::auth::Principal;
use crate::error::AppError;
use crate::read_pool::ReadDb;
use crate::service::store::Store;
use async_graphql::{Context, MergedObject, Schema};
use loaders::Loaders;
use subscriptions::SubscriptionRoot;

/// The root query, merged from each feature's queries.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(
    viewer::ViewerQuery,
    accounts::AccountQuery,
    clients::ClientQuery,
    catalog::CatalogQuery,
    audit::AuditQuery,
    valuation::QuoteQuery,
    transfers::TransferQuery,
);

/// The root mutation, merged from each feature's mutations.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct Mutation(
    accounts::AccountMutation,
    asset_mutation::AssetMutation,
    clients::ClientMutation,
    catalog_mutation::CatalogMutation,
    transfers::TransferMutation,
);

/// The executable schema.
pub type AppSchema = Schema<Query, Mutation, SubscriptionRoot>;

/// Options that shape the schema itself.
#[derive(Clone, Copy, Debug)]
pub struct SchemaOptions {
    /// Answer introspection queries.
    pub introspection: bool,
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Highest complexity.
    pub max_complexity: usize,
}

/// Builds the schema over `store`. It has no extension on purpose (see
/// `graphql::weights`): documents are weighed on [`weights`]'s probe.
pub fn build(store: Store, options: SchemaOptions) -> AppSchema {
    builder(store, options).finish()
}

/// Weighs documents on a probe instance of the schema (see `weights`).
pub fn weights(store: Store, options: SchemaOptions) -> weights::Weights {
    weights::Weights::new(builder(store, options).extension(weights::probe()).finish())
}

fn builder(store: Store, options: SchemaOptions) -> async_graphql::SchemaBuilder<Query, Mutation, SubscriptionRoot> {
    let mut builder = Schema::build(Query::default(), Mutation::default(), SubscriptionRoot)
        .data(store)
        .limit_depth(options.max_depth)
        .limit_complexity(options.max_complexity);
    if !options.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), SubscriptionRoot).finish().sdl()
}

/// What every resolver needs: the caller, the loaders, the database it
/// reads (writes go through the store, always to the primary).
pub(crate) struct Req<'a> {
    pub principal: &'a Principal,
    pub store: &'a Store,
    pub loaders: &'a Loaders,
    pub db: &'a ReadDb,
}

/// Reads the request's context; missing parts are a wiring bug (INTERNAL).
pub(crate) fn req<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<Req<'a>> {
    let missing = |what: &str| AppError::internal(format!("request context lacks {what}")).to_graphql();
    let loaders = ctx.data::<Loaders>().map_err(|_| missing("loaders"))?;
    Ok(Req {
        principal: ctx.data::<Principal>().map_err(|_| missing("principal"))?,
        store: ctx.data::<Store>().map_err(|_| missing("store"))?,
        loaders,
        // A query's reads may go to a replica; a mutation's answer is read
        // from the primary (the request's loaders say which).
        db: loaders.db(),
    })
}

/// A loader error as a GraphQL error.
pub(crate) fn load_err(e: AppError) -> async_graphql::Error {
    e.to_graphql()
}
