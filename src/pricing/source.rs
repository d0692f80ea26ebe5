//! Price sources: where USD rates come from. A file shipped with the
//! project (the embedded default) and an HTTP quote API.

use async_trait::async_trait;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

/// Why a source gave no rates.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// Could not reach the source or it answered an error status.
    #[error("price source unavailable: {0}")]
    Unavailable(String),
    /// The answer was not a quote document.
    #[error("price source answered something that is not quotes: {0}")]
    Malformed(String),
}

/// Somewhere to get USD rates from.
#[async_trait]
pub trait PriceSource: Send + Sync {
    /// The source's name, recorded with each quote.
    fn name(&self) -> &str;
    /// USD rates for `codes`; codes it does not know are simply absent.
    async fn fetch(&self, codes: &[String]) -> Result<HashMap<String, Decimal>, SourceError>;
}

/// Reads a rate from JSON: a string or a number, positive and finite.
/// Anything else (NaN, zero, negative, text) is no rate at all.
pub fn rate_of(value: &serde_json::Value) -> Option<Decimal> {
    let d = match value {
        serde_json::Value::String(s) => Decimal::from_str(s.trim()).ok()?,
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).ok()?
        }
        _ => return None,
    };
    (d > Decimal::ZERO).then_some(d.normalize())
}

/// `{ "CODE": rate }`, upper-cased codes; non-rates are dropped.
fn plain(doc: &serde_json::Value) -> Result<HashMap<String, Decimal>, SourceError> {
    let obj = doc.as_object().ok_or_else(|| SourceError::Malformed("not a JSON object".into()))?;
    Ok(obj.iter().filter_map(|(k, v)| rate_of(v).map(|r| (k.to_uppercase(), r))).collect())
}

/// The quotes file: a JSON object of code to USD rate.
pub struct FileSource {
    rates: HashMap<String, Decimal>,
    name: String,
}

/// The demo rates compiled into the binary.
pub const DEMO_RATES: &str = include_str!("../../quotes/demo-rates.json");

impl FileSource {
    /// Parses a quotes document; `name` says where it came from.
    pub fn parse(text: &str, name: &str) -> Result<Self, SourceError> {
        let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| SourceError::Malformed(e.to_string()))?;
        Ok(FileSource { rates: plain(&doc)?, name: name.to_owned() })
    }
}

#[async_trait]
impl PriceSource for FileSource {
    fn name(&self) -> &str {
        &self.name
    }
    async fn fetch(&self, codes: &[String]) -> Result<HashMap<String, Decimal>, SourceError> {
        Ok(codes.iter().filter_map(|c| self.rates.get(c).map(|r| (c.clone(), *r))).collect())
    }
}

/// The response shape of an HTTP quote API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ApiFormat {
    /// CoinGecko `simple/price`: `GET {url}/simple/price?ids=..&vs_currencies=usd`,
    /// answering `{ "bitcoin": { "usd": 67000.5 } }`.
    Coingecko,
    /// `GET {url}?symbols=BTC,ETH`, answering `{ "BTC": 67000.5 }`.
    Plain,
}

/// An HTTP quote API, with timeout and retries with backoff.
pub struct HttpSource {
    client: reqwest::Client,
    url: String,
    format: ApiFormat,
    api_key: Option<(String, String)>,
    ids: HashMap<String, String>,
    retries: u32,
}

/// CoinGecko ids of common tickers; `--quote-ids` adds or overrides.
pub const DEFAULT_IDS: &[(&str, &str)] = &[
    ("BTC", "bitcoin"),
    ("ETH", "ethereum"),
    ("USDC", "usd-coin"),
    ("USDT", "tether"),
    ("SOL", "solana"),
    ("EUR", "tether-eurt"),
];

impl HttpSource {
    /// A source for `url`; `api_key` is (header, value); `ids` maps codes to
    /// the API's ids (CoinGecko).
    pub fn new(
        url: &str,
        format: ApiFormat,
        api_key: Option<(String, String)>,
        ids: HashMap<String, String>,
        timeout: Duration,
        retries: u32,
    ) -> Result<Self, SourceError> {
        let client =
            reqwest::Client::builder().timeout(timeout).build().map_err(|e| SourceError::Unavailable(e.to_string()))?;
        Ok(HttpSource { client, url: url.trim_end_matches('/').to_owned(), format, api_key, ids, retries })
    }

    async fn once(&self, codes: &[String]) -> Result<HashMap<String, Decimal>, SourceError> {
        let mut req = match self.format {
            ApiFormat::Coingecko => {
                let ids: Vec<&str> = codes.iter().filter_map(|c| self.ids.get(c).map(String::as_str)).collect();
                if ids.is_empty() {
                    return Ok(HashMap::new());
                }
                self.client
                    .get(format!("{}/simple/price", self.url))
                    .query(&[("ids", ids.join(",")), ("vs_currencies", "usd".into())])
            }
            ApiFormat::Plain => self.client.get(&self.url).query(&[("symbols", codes.join(","))]),
        };
        if let Some((header, value)) = &self.api_key {
            req = req.header(header.as_str(), value.as_str());
        }
        let mut trace = reqwest::header::HeaderMap::new();
        crate::telemetry::spans::inject(&mut trace);
        let resp = req.headers(trace).send().await.map_err(|e| SourceError::Unavailable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(SourceError::Unavailable(format!("status {}", resp.status())));
        }
        let doc: serde_json::Value = resp.json().await.map_err(|e| SourceError::Malformed(e.to_string()))?;
        match self.format {
            ApiFormat::Plain => plain(&doc),
            ApiFormat::Coingecko => Ok(codes
                .iter()
                .filter_map(|c| {
                    let id = self.ids.get(c)?;
                    rate_of(doc.get(id)?.get("usd")?).map(|r| (c.clone(), r))
                })
                .collect()),
        }
    }
}

#[async_trait]
impl PriceSource for HttpSource {
    fn name(&self) -> &str {
        match self.format {
            ApiFormat::Coingecko => "coingecko",
            ApiFormat::Plain => "http",
        }
    }

    async fn fetch(&self, codes: &[String]) -> Result<HashMap<String, Decimal>, SourceError> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            match self.once(codes).await {
                Ok(rates) => return Ok(rates),
                Err(e) if attempt >= self.retries => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "price source failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_positive_finite_rates() {
        assert_eq!(rate_of(&json!("67000.50")), Decimal::from_str("67000.5").ok());
        assert_eq!(rate_of(&json!(0.9998)), Decimal::from_str("0.9998").ok());
        for bad in [json!("NaN"), json!(0), json!(-1), json!("<html>"), json!(null), json!({"usd": 1})] {
            assert_eq!(rate_of(&bad), None, "{bad}");
        }
    }

    #[test]
    fn demo_file_has_every_seeded_currency() {
        let f = FileSource::parse(DEMO_RATES, "file");
        let rates = f.map(|f| f.rates).unwrap_or_default();
        for code in ["USD", "EUR", "BRL", "BTC", "ETH", "USDC"] {
            assert!(rates.contains_key(code), "{code}");
        }
    }
}
