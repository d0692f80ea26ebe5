//! Process counters, rendered in the Prometheus text format at `/metrics`.
//!
//! A handful of monotonic counters is all the gateway needs so far; they are
//! plain atomics so that the SQL statement callback (called for every
//! statement) costs one relaxed add.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The gateway's counters. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Metrics(Arc<Counters>);

#[derive(Default)]
struct Counters {
    db_statements: AtomicU64,
    db_statement_errors: AtomicU64,
    graphql_requests: AtomicU64,
    graphql_errors: AtomicU64,
    quote_local_hits: AtomicU64,
    quote_redis_batches: AtomicU64,
    quote_redis_errors: AtomicU64,
    quote_source_calls: AtomicU64,
    quote_source_errors: AtomicU64,
    quote_stale_served: AtomicU64,
    quote_backoff_skips: AtomicU64,
    events_relayed: AtomicU64,
    events_relay_errors: AtomicU64,
    events_received: AtomicU64,
}

impl Metrics {
    /// Counts one SQL statement sent to the database.
    pub fn statement(&self, failed: bool) {
        self.0.db_statements.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.0.db_statement_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one GraphQL request and whether it answered with errors.
    pub fn request(&self, had_errors: bool) {
        self.0.graphql_requests.fetch_add(1, Ordering::Relaxed);
        if had_errors {
            self.0.graphql_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A quote served from the in-process layer.
    pub fn quote_local_hit(&self) {
        self.0.quote_local_hits.fetch_add(1, Ordering::Relaxed);
    }

    /// One Redis MGET for a batch of quotes.
    pub fn redis_batch(&self) {
        self.0.quote_redis_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Redis failed or was too slow.
    pub fn redis_error(&self) {
        self.0.quote_redis_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// One call to the price source.
    pub fn quote_source_call(&self) {
        self.0.quote_source_calls.fetch_add(1, Ordering::Relaxed);
    }

    /// The price source failed.
    pub fn quote_source_error(&self) {
        self.0.quote_source_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A quote past its freshness was served.
    pub fn quote_stale(&self) {
        self.0.quote_stale_served.fetch_add(1, Ordering::Relaxed);
    }

    /// Currencies not asked of the source because their back-off window
    /// after a failure is still open.
    pub fn quote_backoff_skip(&self, n: usize) {
        self.0.quote_backoff_skips.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Events relayed from the outbox to Redis.
    pub fn events_relayed(&self, n: u64) {
        self.0.events_relayed.fetch_add(n, Ordering::Relaxed);
    }

    /// A relay attempt that Redis refused (the events stay in the outbox).
    pub fn event_relay_error(&self) {
        self.0.events_relay_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// An event another replica committed, delivered here.
    pub fn event_received(&self) {
        self.0.events_received.fetch_add(1, Ordering::Relaxed);
    }

    /// SQL statements sent since start.
    pub fn statements(&self) -> u64 {
        self.0.db_statements.load(Ordering::Relaxed)
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        let c = &self.0;
        let mut out = String::new();
        for (name, help, value) in [
            ("gateway_db_statements_total", "SQL statements sent", &c.db_statements),
            ("gateway_db_statement_errors_total", "SQL statements that failed", &c.db_statement_errors),
            ("gateway_graphql_requests_total", "GraphQL requests executed", &c.graphql_requests),
            ("gateway_graphql_errors_total", "GraphQL requests answered with errors", &c.graphql_errors),
            ("gateway_quote_local_hits_total", "quotes served from the in-process cache", &c.quote_local_hits),
            ("gateway_quote_redis_batches_total", "Redis MGET batches for quotes", &c.quote_redis_batches),
            ("gateway_quote_redis_errors_total", "Redis failures or timeouts", &c.quote_redis_errors),
            ("gateway_quote_source_calls_total", "calls to the price source", &c.quote_source_calls),
            ("gateway_quote_source_errors_total", "failed calls to the price source", &c.quote_source_errors),
            ("gateway_quote_stale_served_total", "quotes served past their freshness", &c.quote_stale_served),
            (
                "gateway_quote_backoff_skips_total",
                "currencies not asked of a failing source inside their back-off window",
                &c.quote_backoff_skips,
            ),
            ("gateway_events_relayed_total", "events relayed from the outbox to Redis", &c.events_relayed),
            ("gateway_events_relay_errors_total", "relay attempts Redis refused", &c.events_relay_errors),
            ("gateway_events_received_total", "events from other replicas delivered here", &c.events_received),
        ] {
            let _ =
                writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", value.load(Ordering::Relaxed));
        }
        out
    }
}
