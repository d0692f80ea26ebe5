//! accounts-gateway: one GraphQL API over accounts and balances.
//!
//! A request travels: [`http`] (axum routes, GraphQL-over-HTTP rules) ->
//! [`auth`] (who is calling, for which organization) -> [`graphql`] (a thin
//! schema whose nested fields go through per-request DataLoaders) ->
//! [`service`] (operations, scoped by organization) -> SeaORM entities in the
//! `entity` crate. [`domain`] holds the rules and validated input types that
//! every layer shares; [`error`] the one error type and its public codes.

pub mod app; // build(settings) -> a bound server that reports its port
pub mod auth; // the caller: organization, role, subject
pub mod clock; // the injected time every time-dependent rule reads
pub mod config; // flags and environment (clap)
pub mod db; // connect, migrate, count statements
pub mod domain; // enums, paging and filter rules, validated inputs
pub mod error; // AppError and its GraphQL codes
pub mod events; // domain events, published after commit
pub mod graphql; // schema, objects, loaders
pub mod http; // GraphQL over HTTP, GraphiQL, health, metrics
pub mod metrics; // process counters rendered for Prometheus
pub mod pricing; // USD quotes: sources, Redis and in-process cache
pub mod read_pool; // request reads on PostgreSQL without a ping per statement
pub mod redis_cache; // a Redis cache shared by replicas, with tight timeouts
pub mod redis_conn; // one Redis server or a Redis Cluster behind one connection type
pub mod replica; // queries on a PostgreSQL streaming replica while it keeps up
pub mod service; // the operations behind the schema, callable without HTTP
pub mod telemetry; // tracing set-up
pub mod tenant_slots; // each organization's share of requests and of work in flight
