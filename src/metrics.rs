//! The gateway's metrics, in a Prometheus registry (the `prometheus` crate)
//! of each server's own, so that two servers in one process (as in the
//! tests) never mix their figures; rendered at `/metrics`.
//!
//! Request metrics are labelled by operation name, bounded: each
//! organization's first [`MAX_OPERATIONS_PER_ORGANIZATION`] names get a
//! label of their own while fewer than [`MAX_OPERATIONS`] are known in all
//! (so one tenant's many names cannot crowd out the others'), later ones
//! count as `other`, unnamed operations as `anonymous`, documents that
//! never parsed as `unknown`. SQL statements are counted per request through a
//! task-local counter that the request's DataLoader tasks inherit.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::collections::HashSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many distinct operation names get a label of their own.
pub const MAX_OPERATIONS: usize = 200;
/// How many of them one organization's names may take.
pub const MAX_OPERATIONS_PER_ORGANIZATION: usize = 50;
/// Organizations whose names are remembered; names of others are `other`.
const MAX_LABELLED_ORGANIZATIONS: usize = 10_000;

/// Operation names with a label of their own: all, and each
/// organization's.
#[derive(Default)]
struct OperationLabels {
    all: HashSet<String>,
    by_organization: std::collections::HashMap<Option<uuid::Uuid>, HashSet<String>>,
}

tokio::task_local! {
    /// The SQL statements of the request this task works for.
    static REQUEST_STATEMENTS: Arc<AtomicU64>;
}

/// The gateway's metrics. Cheap to clone (shared).
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

struct Inner {
    registry: Registry,
    operations: Mutex<OperationLabels>,
    db_statements: IntCounter,
    db_statement_errors: IntCounter,
    graphql_requests: IntCounter,
    graphql_errors: IntCounter,
    request_seconds: HistogramVec,
    errors_by_code: IntCounterVec,
    statements_per_request: Histogram,
    rate_limited: IntCounter,
    quote_local_hits: IntCounter,
    quote_redis_batches: IntCounter,
    quote_redis_errors: IntCounter,
    quote_source_calls: IntCounter,
    quote_source_errors: IntCounter,
    quote_stale_served: IntCounter,
    quote_backoff_skips: IntCounter,
    events_published: IntCounter,
    events_relayed: IntCounter,
    events_relay_errors: IntCounter,
    events_received: IntCounter,
    events_dropped: IntCounter,
    pool: IntGaugeVec,
    read_pool: IntGaugeVec,
    ws_sockets: IntGauge,
    ws_operations: IntGauge,
    event_subscribers: IntGauge,
    shared_executions: IntGauge,
    replica_usable: IntGauge,
    replica_lag_ms: IntGauge,
    events_requeue_pending: IntGauge,
    key_cache_listening: IntGauge,
}

/// What one GraphQL request over HTTP was, for its metrics.
pub struct RequestRecord<'a> {
    /// The operation's name as the document gave it, if any.
    pub operation: Option<&'a str>,
    /// The caller's organization, once authenticated.
    pub organization: Option<uuid::Uuid>,
    /// `query`, `mutation`, `subscription`, or `unknown` when the document
    /// was refused before its type was known.
    pub kind: &'static str,
    /// The error codes of the answer (empty on success).
    pub codes: &'a [String],
    /// From arrival to answer.
    pub duration: Duration,
    /// SQL statements the request sent.
    pub statements: u64,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    registry.register(Box::new(c.clone())).unwrap_or_else(|e| panic!("metric {name}: {e}"));
    c
}

impl Default for Metrics {
    fn default() -> Self {
        let r = Registry::new();
        let request_seconds = HistogramVec::new(
            HistogramOpts::new("gateway_graphql_request_duration_seconds", "GraphQL requests over HTTP, by operation")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["operation", "type", "outcome"],
        )
        .unwrap_or_else(|e| panic!("request histogram: {e}"));
        let errors_by_code = IntCounterVec::new(
            Opts::new("gateway_graphql_errors_by_code_total", "errors in GraphQL answers, by public code"),
            &["code"],
        )
        .unwrap_or_else(|e| panic!("errors by code: {e}"));
        let statements_per_request = Histogram::with_opts(
            HistogramOpts::new("gateway_db_statements_per_request", "SQL statements one GraphQL request sent")
                .buckets(vec![0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 25.0, 50.0, 100.0]),
        )
        .unwrap_or_else(|e| panic!("statements histogram: {e}"));
        let by_state = |name: &str, help: &str| {
            IntGaugeVec::new(Opts::new(name, help), &["state"]).unwrap_or_else(|e| panic!("gauge {name}: {e}"))
        };
        let pool = by_state("gateway_db_pool_connections", "database connections of the request pool, by state");
        let read_pool = by_state(
            "gateway_db_read_pool_connections",
            "PostgreSQL connections of the requests' read pool (primary and replica), by state",
        );
        for m in [
            Box::new(request_seconds.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(errors_by_code.clone()),
            Box::new(statements_per_request.clone()),
            Box::new(pool.clone()),
            Box::new(read_pool.clone()),
        ] {
            r.register(m).unwrap_or_else(|e| panic!("registering a metric: {e}"));
        }
        let c = |name: &str, help: &str| counter(&r, name, help);
        let g = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).unwrap_or_else(|e| panic!("metric {name}: {e}"));
            r.register(Box::new(g.clone())).unwrap_or_else(|e| panic!("metric {name}: {e}"));
            g
        };
        let inner = Inner {
            operations: Mutex::new(OperationLabels::default()),
            db_statements: c("gateway_db_statements_total", "SQL statements sent"),
            db_statement_errors: c("gateway_db_statement_errors_total", "SQL statements that failed"),
            graphql_requests: c("gateway_graphql_requests_total", "GraphQL requests executed"),
            graphql_errors: c("gateway_graphql_errors_total", "GraphQL requests answered with errors"),
            rate_limited: c("gateway_rate_limited_total", "requests and sockets refused by the rate limit"),
            quote_local_hits: c("gateway_quote_local_hits_total", "quotes served from the in-process cache"),
            quote_redis_batches: c("gateway_quote_redis_batches_total", "Redis MGET batches for quotes"),
            quote_redis_errors: c("gateway_quote_redis_errors_total", "Redis failures or timeouts"),
            quote_source_calls: c("gateway_quote_source_calls_total", "calls to the price source"),
            quote_source_errors: c("gateway_quote_source_errors_total", "failed calls to the price source"),
            quote_stale_served: c("gateway_quote_stale_served_total", "quotes served past their freshness"),
            quote_backoff_skips: c(
                "gateway_quote_backoff_skips_total",
                "currencies not asked of a failing source inside their back-off window",
            ),
            events_published: c("gateway_events_published_total", "domain events published after commit"),
            events_relayed: c("gateway_events_relayed_total", "events relayed from the outbox to Redis"),
            events_relay_errors: c("gateway_events_relay_errors_total", "relay attempts Redis refused"),
            events_received: c("gateway_events_received_total", "events from other replicas delivered here"),
            events_dropped: c("gateway_events_dropped_total", "events a slow subscriber missed"),
            request_seconds,
            errors_by_code,
            statements_per_request,
            pool,
            read_pool,
            ws_sockets: g("gateway_ws_sockets", "open WebSockets"),
            ws_operations: g("gateway_ws_operations", "live operations (subscriptions) over WebSocket"),
            event_subscribers: g("gateway_event_subscribers", "subscriptions listening for events on this replica"),
            shared_executions: g(
                "gateway_ws_shared_executions",
                "subscription executions on this replica, each shared by its subscribers",
            ),
            replica_usable: g("gateway_db_replica_usable", "1 while queries read from the PostgreSQL replica"),
            events_requeue_pending: g(
                "gateway_events_requeue_pending",
                "1 while Redis came back empty and the retained events wait to be relayed again",
            ),
            replica_lag_ms: g(
                "gateway_db_replica_lag_milliseconds",
                "how far the replica was behind at the last check (-1: it did not answer)",
            ),
            key_cache_listening: g(
                "gateway_api_key_cache_listening",
                "1 while this replica hears API key changes and may answer keys from memory",
            ),
            registry: r,
        };
        Metrics(Arc::new(inner))
    }
}

/// Runs `fut` with a statement counter of its own and returns its output
/// with the number of SQL statements it sent (its DataLoader tasks count,
/// see [`Metrics::spawner`]).
pub async fn counting_statements<F: Future>(fut: F) -> (F::Output, u64) {
    let count = Arc::new(AtomicU64::new(0));
    let out = REQUEST_STATEMENTS.scope(count.clone(), fut).await;
    (out, count.load(Ordering::Relaxed))
}

/// Spawns `fut` as a task that counts its statements for the calling
/// request (if any) and runs to its end even if the request is dropped.
pub fn spawn_for_request<F>(fut: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    use tracing::Instrument;
    let fut = fut.instrument(tracing::Span::current());
    match REQUEST_STATEMENTS.try_with(Arc::clone) {
        Ok(count) => tokio::spawn(REQUEST_STATEMENTS.scope(count, fut)),
        Err(_) => tokio::spawn(fut),
    }
}

/// A spawner for the batches of the DataLoader `loader` that keeps the
/// calling request's statement counter and span: statements sent by a
/// batch count for the request, and each batch is a span in its trace.
pub fn spawner(loader: &'static str) -> impl Fn(futures_util::future::BoxFuture<'static, ()>) + Send + Sync + 'static {
    use tracing::Instrument;
    let count = REQUEST_STATEMENTS.try_with(Arc::clone).ok();
    let request = tracing::Span::current();
    move |fut| {
        let fut = fut.instrument(request.in_scope(|| crate::telemetry::spans::loader_batch(loader)));
        match &count {
            Some(c) => tokio::spawn(REQUEST_STATEMENTS.scope(c.clone(), fut)),
            None => tokio::spawn(fut),
        };
    }
}

impl Metrics {
    /// Counts one SQL statement sent to the database.
    pub fn statement(&self, failed: bool) {
        self.0.db_statements.inc();
        if failed {
            self.0.db_statement_errors.inc();
        }
        let _ = REQUEST_STATEMENTS.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
    }

    /// The label of an operation name of `organization`: itself while the
    /// bounds allow, else `other`.
    fn operation_label(&self, organization: Option<uuid::Uuid>, name: Option<&str>) -> String {
        let Some(name) = name else { return "anonymous".into() };
        let mut labels = self.0.operations.lock().unwrap_or_else(|p| p.into_inner());
        let OperationLabels { all, by_organization } = &mut *labels;
        if !by_organization.contains_key(&organization) && by_organization.len() >= MAX_LABELLED_ORGANIZATIONS {
            return "other".into();
        }
        let own = by_organization.entry(organization).or_default();
        let room = own.len() < MAX_OPERATIONS_PER_ORGANIZATION && (all.contains(name) || all.len() < MAX_OPERATIONS);
        if own.contains(name) || (room && own.insert(name.to_owned())) {
            all.insert(name.to_owned());
            name.to_owned()
        } else {
            "other".into()
        }
    }

    /// Records one GraphQL request over HTTP.
    pub fn request(&self, r: RequestRecord<'_>) {
        let i = &self.0;
        i.graphql_requests.inc();
        if !r.codes.is_empty() {
            i.graphql_errors.inc();
        }
        for code in r.codes {
            i.errors_by_code.with_label_values(&[code.as_str()]).inc();
        }
        let operation =
            if r.kind == "unknown" { "unknown".into() } else { self.operation_label(r.organization, r.operation) };
        let outcome = if r.codes.is_empty() { "ok" } else { "error" };
        i.request_seconds.with_label_values(&[operation.as_str(), r.kind, outcome]).observe(r.duration.as_secs_f64());
        i.statements_per_request.observe(r.statements as f64);
    }

    /// A request or socket the rate limit refused.
    pub fn rate_limited(&self) {
        self.0.rate_limited.inc();
    }

    /// A quote served from the in-process layer.
    pub fn quote_local_hit(&self) {
        self.0.quote_local_hits.inc();
    }

    /// One Redis MGET for a batch of quotes.
    pub fn redis_batch(&self) {
        self.0.quote_redis_batches.inc();
    }

    /// Redis failed or was too slow.
    pub fn redis_error(&self) {
        self.0.quote_redis_errors.inc();
    }

    /// One call to the price source.
    pub fn quote_source_call(&self) {
        self.0.quote_source_calls.inc();
    }

    /// The price source failed.
    pub fn quote_source_error(&self) {
        self.0.quote_source_errors.inc();
    }

    /// A quote past its freshness was served.
    pub fn quote_stale(&self) {
        self.0.quote_stale_served.inc();
    }

    /// Currencies not asked of the source because their back-off window
    /// after a failure is still open.
    pub fn quote_backoff_skip(&self, n: usize) {
        self.0.quote_backoff_skips.inc_by(n as u64);
    }

    /// Domain events published after a commit.
    pub fn events_published(&self, n: usize) {
        self.0.events_published.inc_by(n as u64);
    }

    /// Events relayed from the outbox to Redis.
    pub fn events_relayed(&self, n: u64) {
        self.0.events_relayed.inc_by(n);
    }

    /// A relay attempt that Redis refused (the events stay in the outbox).
    pub fn event_relay_error(&self) {
        self.0.events_relay_errors.inc();
    }

    /// Whether a Redis restart's re-send of the retained events waits for
    /// the database.
    pub fn set_requeue_pending(&self, pending: bool) {
        self.0.events_requeue_pending.set(i64::from(pending));
    }

    /// An event another replica committed, delivered here.
    pub fn event_received(&self) {
        self.0.events_received.inc();
    }

    /// Events a subscriber lagged behind and missed.
    pub fn events_dropped(&self, n: u64) {
        self.0.events_dropped.inc_by(n);
    }

    /// SQL statements sent since start.
    pub fn statements(&self) -> u64 {
        self.0.db_statements.get()
    }

    /// The request pool's connections now: in use and idle.
    pub fn set_pool(&self, in_use: i64, idle: i64) {
        self.0.pool.with_label_values(&["in_use"]).set(in_use);
        self.0.pool.with_label_values(&["idle"]).set(idle);
    }

    /// The read pool's connections now: in use and idle.
    pub fn set_read_pool(&self, in_use: i64, idle: i64) {
        self.0.read_pool.with_label_values(&["in_use"]).set(in_use);
        self.0.read_pool.with_label_values(&["idle"]).set(idle);
    }

    /// Whether the API key cache hears key changes (and so is used).
    pub fn set_key_cache_listening(&self, on: bool) {
        self.0.key_cache_listening.set(i64::from(on));
    }

    /// The replica's state at the last check: usable, and its lag (`None`
    /// when it did not answer).
    pub fn set_replica(&self, usable: bool, lag: Option<Duration>) {
        self.0.replica_usable.set(i64::from(usable));
        let ms = lag.map_or(-1, |l| i64::try_from(l.as_millis()).unwrap_or(i64::MAX));
        self.0.replica_lag_ms.set(ms);
    }

    /// What is live now: open WebSockets, operations over them,
    /// subscriptions listening for events, and the executions they share.
    pub fn set_live(&self, sockets: i64, operations: i64, subscribers: i64, executions: i64) {
        self.0.ws_sockets.set(sockets);
        self.0.ws_operations.set(operations);
        self.0.event_subscribers.set(subscribers);
        self.0.shared_executions.set(executions);
    }

    /// The Prometheus exposition text.
    pub fn render(&self) -> String {
        TextEncoder::new().encode_to_string(&self.0.registry.gather()).unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering metrics");
            String::new()
        })
    }
}
