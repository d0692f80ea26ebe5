#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Integration tests: each boots the real server on an ephemeral port and
//! speaks HTTP to it. Every test runs on SQLite, and again on PostgreSQL
//! when `DATABASE_URL` is set (see `helpers::backend_tests!`).

mod helpers;

mod account_events;
mod accounts_filter;
mod accounts_nested;
mod accounts_paging;
mod aggregates;
mod auth;
mod card_key;
mod decoding;
mod errors;
mod export;
mod fanout;
mod faults;
mod graphiql_browser;
mod history;
mod http_spec;
mod import;
mod layers;
mod limits;
mod metrics;
mod money_movement;
mod mutations_accounts;
mod mutations_assets;
mod mutations_concurrency;
mod mutations_other;
mod ops;
mod quiet_logs;
mod quote_server;
mod read_pool;
mod redis_cluster;
mod replica;
mod seed_fidelity;
mod services;
mod shutdown;
mod statements;
mod subscriptions;
mod tenancy;
mod traces;
mod upgrade;
mod valuation;
mod valuation_cache;
mod ws_client;
mod ws_guards;
