//! Builds the quote service from settings.

use super::source::{FileSource, HttpSource, PriceSource, DEFAULT_IDS, DEMO_RATES};
use super::{QuoteTiming, Quotes};
use crate::clock::Clock;
use crate::config::{QuoteSourceKind, Settings};
use crate::metrics::Metrics;
use crate::redis_cache::RedisLayer;
use anyhow::Context;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The configured quote service.
pub fn from_settings(
    s: &Settings,
    redis: Option<crate::redis_conn::RedisTarget>,
    metrics: &Metrics,
    clock: Clock,
    history: Option<super::history::HistorySink>,
) -> anyhow::Result<Quotes> {
    let source: Arc<dyn PriceSource> = match s.quote_source {
        QuoteSourceKind::File => match &s.quotes_file {
            Some(path) => {
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                Arc::new(FileSource::parse(&text, "file")?)
            }
            None => Arc::new(FileSource::parse(DEMO_RATES, "demo-file")?),
        },
        QuoteSourceKind::Http => {
            let url = s.quote_api_url.as_deref().context("--quote-source http needs --quote-api-url")?;
            let mut ids: HashMap<String, String> =
                DEFAULT_IDS.iter().map(|(c, i)| ((*c).to_owned(), (*i).to_owned())).collect();
            for pair in s.quote_ids.split(',').filter(|p| !p.trim().is_empty()) {
                let (code, id) = pair.split_once('=').context("--quote-ids takes CODE=id pairs")?;
                ids.insert(code.trim().to_uppercase(), id.trim().to_owned());
            }
            let key = s.quote_api_key.as_ref().map(|k| (s.quote_api_key_header.clone(), k.expose().to_owned()));
            Arc::new(HttpSource::new(
                url,
                s.quote_api_format,
                key,
                ids,
                Duration::from_millis(s.quote_timeout_ms),
                s.quote_retries,
            )?)
        }
    };
    let timeout = Duration::from_millis(s.redis_timeout_ms);
    let redis = redis.map(|t| RedisLayer::new(t, &s.redis_prefix, "quote:USD:", timeout, metrics.clone()));
    let timing = QuoteTiming {
        fresh: Duration::from_secs(s.quote_fresh_secs),
        keep: Duration::from_secs(s.quote_keep_secs),
        backoff: Duration::from_millis(s.quote_backoff_ms),
    };
    Ok(Quotes::new(source, redis, timing, metrics.clone(), clock, history))
}
