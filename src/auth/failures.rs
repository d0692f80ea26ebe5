//! Failed authentication, so that guessing keys costs the guesser and not
//! the database every tenant shares.
//!
//! Each client address has a bucket of failures (`AUTH_FAILURE_BURST` at
//! once, refilled at `AUTH_FAILURES_PER_MINUTE`); an address whose bucket is
//! empty is answered 429 with `Retry-After` before its credential is looked
//! up, unless the credential is a key that authenticated on this replica a
//! moment ago (a valid caller behind the same address keeps working) or a
//! JWT (checked without the database). A key the database did not know is
//! remembered as a miss for [`MISS_TTL`]: keys are random, so a miss cannot
//! turn into a valid key meanwhile, and asking again costs no read.
//! Buckets live in this replica's memory: N replicas allow N times the rate.

use super::rate_limit::RateLimiter;
use axum::http::HeaderMap;
use moka::sync::Cache;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long an unknown key is answered from memory.
pub const MISS_TTL: Duration = Duration::from_secs(60);
/// How long a key that authenticated lets its caller past a blocked address.
const GOOD_TTL: Duration = Duration::from_secs(600);
/// Keys remembered either way, at most.
const CAPACITY: u64 = 100_000;

/// Failure buckets, misses and recently good keys.
#[derive(Clone)]
pub struct Failures {
    buckets: RateLimiter,
    misses: Cache<String, ()>,
    good: Cache<String, ()>,
    retry_after_secs: u64,
    /// The header a trusted load balancer names the client in.
    trusted_header: Option<axum::http::HeaderName>,
}

impl Failures {
    /// `per_minute` failures sustained per address, `burst` at once; 0
    /// per minute turns the per-address limit off (misses are still kept).
    pub fn new(per_minute: u32, burst: u32, trusted_header: Option<axum::http::HeaderName>) -> Self {
        let per_second = f64::from(per_minute) / 60.0;
        let retry_after_secs = if per_minute == 0 { 1 } else { (60 / u64::from(per_minute)).max(1) };
        Failures {
            buckets: RateLimiter::fractional(per_second, burst),
            misses: Cache::builder().max_capacity(CAPACITY).time_to_live(MISS_TTL).build(),
            good: Cache::builder().max_capacity(CAPACITY).time_to_live(GOOD_TTL).build(),
            retry_after_secs,
            trusted_header,
        }
    }

    /// The client address of a request from `peer` with `headers`.
    pub fn client(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Option<IpAddr> {
        client_address(headers, peer, self.trusted_header.as_ref().map(axum::http::HeaderName::as_str))
    }

    /// Seconds a blocked address should wait.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after_secs
    }

    /// True when `address` has used up its failures.
    pub fn blocked(&self, address: Option<IpAddr>) -> bool {
        address.is_some_and(|a| !self.buckets.has_token(&a.to_string()))
    }

    /// Spends one of `address`'s failures.
    pub fn failed(&self, address: Option<IpAddr>) {
        if let Some(a) = address {
            self.buckets.take_here(&a.to_string());
        }
    }

    /// True when the key of hash `key_hash` was unknown a moment ago.
    pub fn is_miss(&self, key_hash: &str) -> bool {
        self.misses.contains_key(key_hash)
    }

    /// Remembers that no key has hash `key_hash`.
    pub fn miss(&self, key_hash: &str) {
        self.misses.insert(key_hash.to_owned(), ());
    }

    /// True when the key of hash `key_hash` authenticated a moment ago.
    pub fn was_good(&self, key_hash: &str) -> bool {
        self.good.contains_key(key_hash)
    }

    /// Remembers that the key of hash `key_hash` authenticated.
    pub fn good(&self, key_hash: &str) {
        self.good.insert(key_hash.to_owned(), ());
    }
}

/// The address of the client: the last entry of `trusted_header` (what the
/// load balancer in front appended) when configured and present, else the
/// peer of the TCP connection.
fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trusted_header: Option<&str>) -> Option<IpAddr> {
    let forwarded = trusted_header
        .and_then(|name| headers.get_all(name).iter().next_back())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|last| last.trim().parse::<IpAddr>().ok());
    forwarded.or(peer.map(|p| p.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_its_burst_of_failures() {
        let f = Failures::new(1, 3, None);
        let a: Option<IpAddr> = "10.0.0.1".parse().ok();
        for _ in 0..3 {
            assert!(!f.blocked(a));
            f.failed(a);
        }
        assert!(f.blocked(a), "burst spent");
        assert!(!f.blocked("10.0.0.2".parse().ok()), "per address");
        assert!(!f.blocked(None), "no address, no bucket");
    }

    #[test]
    fn the_trusted_header_names_the_client() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", axum::http::HeaderValue::from_static("6.6.6.6, 203.0.113.7"));
        let peer: Option<SocketAddr> = "10.1.1.1:5000".parse().ok();
        assert_eq!(client_address(&h, peer, Some("x-forwarded-for")), "203.0.113.7".parse().ok());
        assert_eq!(client_address(&h, peer, None), "10.1.1.1".parse().ok(), "the header is not trusted");
        assert_eq!(client_address(&HeaderMap::new(), peer, Some("x-forwarded-for")), "10.1.1.1".parse().ok());
    }
}
