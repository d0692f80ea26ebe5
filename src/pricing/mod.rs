//! USD quotes: price sources behind a two-layer cache.
//!
//! A lookup asks, in order: the in-process layer (fresh entries), Redis
//! (one MGET for the whole batch), then the source (one call for every
//! miss, shared by concurrent callers: single flight). When the source
//! fails, the last good quote is served marked `stale`, and that currency
//! is not asked for again until its back-off window is over. Redis failing or
//! slow never fails a read; it is logged and counted.

pub mod history;
pub mod setup;
pub mod source;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::redis_cache::RedisLayer;
use chrono::{DateTime, Utc};
use futures_util::future::{BoxFuture, FutureExt, Shared};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use source::PriceSource;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A USD rate as cached.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CachedQuote {
    /// USD per unit.
    pub rate: Decimal,
    /// When the source gave it.
    pub at: DateTime<Utc>,
    /// Which source.
    pub source: String,
}

/// A quote as served, with its freshness.
#[derive(Clone, Debug, PartialEq)]
pub struct QuoteView {
    /// The currency code.
    pub currency: String,
    /// The cached quote.
    pub quote: CachedQuote,
    /// Older than the freshness limit.
    pub stale: bool,
}

/// Cache timing.
#[derive(Clone, Copy, Debug)]
pub struct QuoteTiming {
    /// How long a quote is fresh.
    pub fresh: Duration,
    /// How long the last good quote is kept for outages.
    pub keep: Duration,
    /// After the source fails for a currency (error, timeout or no usable
    /// rate), how long it is not asked for that currency again: during an
    /// outage each currency costs one provider timeout per window, not one
    /// per request.
    pub backoff: Duration,
}

type Flight = Shared<BoxFuture<'static, Arc<HashMap<String, CachedQuote>>>>;

/// The quote service: shared by every request of a process.
#[derive(Clone)]
pub struct Quotes {
    inner: Arc<Inner>,
}

struct Inner {
    source: Arc<dyn PriceSource>,
    redis: Option<RedisLayer>,
    local: moka::sync::Cache<String, CachedQuote>,
    inflight: Mutex<HashMap<String, Flight>>,
    /// Currency -> the instant (by `clock`) before which the source is not
    /// asked for it again.
    backoff: moka::sync::Cache<String, DateTime<Utc>>,
    timing: QuoteTiming,
    metrics: Metrics,
    clock: Clock,
    history: Option<history::HistorySink>,
}

impl Quotes {
    /// A service over `source`, with Redis when given.
    pub fn new(
        source: Arc<dyn PriceSource>,
        redis: Option<RedisLayer>,
        timing: QuoteTiming,
        metrics: Metrics,
        clock: Clock,
        history: Option<history::HistorySink>,
    ) -> Self {
        let local = moka::sync::Cache::builder().max_capacity(10_000).time_to_live(timing.keep).build();
        // The TTL only bounds memory; whether a window is over is decided
        // by `clock`, so tests can cross it without waiting.
        let backoff = moka::sync::Cache::builder().max_capacity(10_000).time_to_live(timing.backoff).build();
        Quotes {
            inner: Arc::new(Inner {
                source,
                redis,
                local,
                inflight: Mutex::new(HashMap::new()),
                backoff,
                timing,
                metrics,
                clock,
                history,
            }),
        }
    }

    /// How long a quote is fresh.
    pub fn freshness(&self) -> Duration {
        self.inner.timing.fresh
    }

    fn is_fresh(&self, q: &CachedQuote) -> bool {
        self.inner.clock.since(q.at) < self.inner.timing.fresh
    }

    fn usd(&self) -> CachedQuote {
        CachedQuote { rate: Decimal::ONE, at: self.inner.clock.now(), source: "fixed".into() }
    }

    fn view(&self, code: &str, q: CachedQuote) -> QuoteView {
        let stale = q.source != "fixed" && !self.is_fresh(&q);
        QuoteView { currency: code.to_owned(), quote: q, stale }
    }

    /// The quotes a current valuation of `codes` uses, for a valuation at
    /// `at`: only when `at` is within the freshness window of now, and only
    /// quotes stamped at or before `at`. The history writer keeps quotes in
    /// the background, so without this a valuation at "now" could miss the
    /// quote the current one just used and value the currency as absent.
    pub async fn current_at(&self, codes: &[String], at: DateTime<Utc>) -> HashMap<String, CachedQuote> {
        if codes.is_empty() || self.inner.clock.since(at) >= self.inner.timing.fresh {
            return HashMap::new();
        }
        let found = self.get_many(codes).await;
        found.into_iter().filter(|(_, v)| v.quote.at <= at).map(|(c, v)| (c, v.quote)).collect()
    }

    /// Quotes for `codes` (upper-case); codes with no quote anywhere are absent.
    pub async fn get_many(&self, codes: &[String]) -> HashMap<String, QuoteView> {
        let mut out = HashMap::new();
        let mut stale_known: HashMap<String, CachedQuote> = HashMap::new();
        let mut misses: Vec<String> = Vec::new();
        let unique: HashSet<&String> = codes.iter().collect();
        for code in unique {
            if code == "USD" {
                out.insert(code.clone(), self.view(code, self.usd()));
                continue;
            }
            match self.inner.local.get(code) {
                Some(q) if self.is_fresh(&q) => {
                    self.inner.metrics.quote_local_hit();
                    out.insert(code.clone(), self.view(code, q));
                }
                Some(q) => {
                    stale_known.insert(code.clone(), q);
                    misses.push(code.clone());
                }
                None => misses.push(code.clone()),
            }
        }
        if let (Some(redis), false) = (&self.inner.redis, misses.is_empty()) {
            if let Some(values) = redis.get_many(&misses).await {
                let mut still = Vec::new();
                for (code, value) in misses.into_iter().zip(values) {
                    match value.and_then(|v| serde_json::from_str::<CachedQuote>(&v).ok()) {
                        Some(q) if self.is_fresh(&q) => {
                            self.inner.local.insert(code.clone(), q.clone());
                            out.insert(code.clone(), self.view(&code, q));
                        }
                        Some(q) => {
                            let newer = stale_known.get(&code).is_none_or(|k| k.at < q.at);
                            if newer {
                                stale_known.insert(code.clone(), q);
                            }
                            still.push(code);
                        }
                        None => still.push(code),
                    }
                }
                misses = still;
            }
        }
        let now = self.inner.clock.now();
        let (waiting, misses): (Vec<String>, Vec<String>) =
            misses.into_iter().partition(|c| self.inner.backoff.get(c).is_some_and(|until| now < until));
        if !waiting.is_empty() {
            self.inner.metrics.quote_backoff_skip(waiting.len());
        }
        let fetched = if misses.is_empty() { HashMap::new() } else { self.fetch(&misses).await };
        for code in waiting.into_iter().chain(misses) {
            let found = fetched.get(&code).cloned().or_else(|| stale_known.remove(&code));
            if let Some(q) = found {
                let v = self.view(&code, q);
                if v.stale {
                    self.inner.metrics.quote_stale();
                    tracing::warn!(currency = %code, "serving a stale quote");
                }
                out.insert(code, v);
            }
        }
        out
    }

    /// One source call for the codes nobody is fetching yet; joins the
    /// calls already under way for the others.
    async fn fetch(&self, codes: &[String]) -> HashMap<String, CachedQuote> {
        let mut flights: Vec<Flight> = Vec::new();
        let mut mine: Vec<String> = Vec::new();
        {
            let mut inflight = match self.inner.inflight.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            for code in codes {
                match inflight.get(code) {
                    Some(f) => flights.push(f.clone()),
                    None => mine.push(code.clone()),
                }
            }
            if !mine.is_empty() {
                let this = self.clone();
                let wanted = mine.clone();
                let flight = async move { Arc::new(this.call_source(&wanted).await) }.boxed().shared();
                for code in &mine {
                    inflight.insert(code.clone(), flight.clone());
                }
                flights.push(flight);
            }
        }
        let mut out = HashMap::new();
        for result in futures_util::future::join_all(flights).await {
            out.extend(result.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }

    async fn call_source(&self, codes: &[String]) -> HashMap<String, CachedQuote> {
        self.inner.metrics.quote_source_call();
        let result = self.inner.source.fetch(codes).await;
        let now = self.inner.clock.now();
        let fetched: HashMap<String, CachedQuote> = match result {
            Ok(rates) => rates
                .into_iter()
                .filter(|(_, r)| *r > Decimal::ZERO)
                .map(|(c, rate)| (c, CachedQuote { rate, at: now, source: self.inner.source.name().to_owned() }))
                .collect(),
            Err(e) => {
                self.inner.metrics.quote_source_error();
                tracing::warn!(error = %e, "price source failed; serving last good quotes");
                HashMap::new()
            }
        };
        for (code, q) in &fetched {
            self.inner.local.insert(code.clone(), q.clone());
        }
        if let Some(history) = &self.inner.history {
            history.record(fetched.iter().map(|(c, q)| (c.clone(), q.clone())).collect());
        }
        let retry_at = now + chrono::Duration::from_std(self.inner.timing.backoff).unwrap_or_default();
        for code in codes.iter().filter(|c| !fetched.contains_key(*c)) {
            self.inner.backoff.insert(code.clone(), retry_at);
        }
        if let Some(redis) = &self.inner.redis {
            let entries: Vec<(String, String)> =
                fetched.iter().filter_map(|(c, q)| serde_json::to_string(q).ok().map(|v| (c.clone(), v))).collect();
            redis.set_many(&entries, self.inner.timing.keep).await;
        }
        let mut inflight = match self.inner.inflight.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        for code in codes {
            inflight.remove(code);
        }
        fetched
    }
}
