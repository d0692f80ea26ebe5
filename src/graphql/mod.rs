//! The GraphQL schema: a thin layer of objects over the service layer.
//!
//! Objects wrap entity models (they never derive from them, so a column
//! rename cannot change the API). Nested fields go through [`loaders`].

pub mod accounts;
pub mod assets;
pub mod catalog;
pub mod clients;
pub mod connection;
pub mod loaders;
pub mod viewer;

use crate::auth::Principal;
use crate::error::AppError;
use async_graphql::{Context, EmptyMutation, EmptySubscription, MergedObject, Schema};
use loaders::Loaders;
use sea_orm::DatabaseConnection;

/// The root query, merged from each feature's queries.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct Query(viewer::ViewerQuery, accounts::AccountQuery, clients::ClientQuery, catalog::CatalogQuery);

/// The executable schema.
pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Options that shape the schema itself.
#[derive(Clone, Copy, Debug)]
pub struct SchemaOptions {
    /// Answer introspection queries.
    pub introspection: bool,
}

/// Builds the schema over `db`.
pub fn build(db: DatabaseConnection, options: SchemaOptions) -> AppSchema {
    let mut builder = Schema::build(Query::default(), EmptyMutation, EmptySubscription).data(db);
    if !options.introspection {
        builder = builder.disable_introspection().disable_suggestions();
    }
    builder.finish()
}

/// The SDL of the schema, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription).finish().sdl()
}

/// What every resolver needs: the caller, the loaders, the database.
pub(crate) struct Req<'a> {
    pub principal: &'a Principal,
    pub loaders: &'a Loaders,
    pub db: &'a DatabaseConnection,
}

/// Reads the request's context; missing parts are a wiring bug (INTERNAL).
pub(crate) fn req<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<Req<'a>> {
    let missing = |what: &str| AppError::internal(format!("request context lacks {what}")).to_graphql();
    Ok(Req {
        principal: ctx.data::<Principal>().map_err(|_| missing("principal"))?,
        loaders: ctx.data::<Loaders>().map_err(|_| missing("loaders"))?,
        db: ctx.data::<DatabaseConnection>().map_err(|_| missing("database"))?,
    })
}

/// A loader error as a GraphQL error.
pub(crate) fn load_err(e: AppError) -> async_graphql::Error {
    e.to_graphql()
}
