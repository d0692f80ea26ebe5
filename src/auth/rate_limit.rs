//! Rate limiting per credential: a token bucket each, refilled continuously.
//! With Redis configured the bucket lives there and every replica draws
//! from it, so the rate is global; without Redis, or while Redis does not
//! answer, buckets live in this replica's memory (idle ones are forgotten)
//! and N replicas give a credential up to N times the rate.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Token buckets by credential.
#[derive(Clone)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: moka::sync::Cache<String, Arc<Mutex<(f64, Instant)>>>,
    shared: Option<Arc<crate::redis_cache::RedisLayer>>,
}

impl RateLimiter {
    /// `per_second` sustained, `burst` at once; 0 disables limiting.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let buckets = moka::sync::Cache::builder().max_capacity(100_000).time_to_idle(Duration::from_secs(600)).build();
        RateLimiter { per_second: f64::from(per_second), burst: f64::from(burst.max(1)), buckets, shared: None }
    }

    /// `per_second` may be a fraction here (per-minute rates); in this
    /// replica's memory only.
    pub fn fractional(per_second: f64, burst: u32) -> Self {
        RateLimiter { per_second, ..RateLimiter::new(0, burst) }
    }

    /// The same limits, with the buckets in Redis (shared by replicas).
    pub fn shared(self, redis: crate::redis_cache::RedisLayer) -> Self {
        RateLimiter { shared: Some(Arc::new(redis)), ..self }
    }

    /// Takes one token for `key`; false when the bucket is empty.
    pub async fn allow(&self, key: &str) -> bool {
        self.take(key, 1.0).await
    }

    /// Takes `tokens` from `key`'s bucket, all or none; false (and none
    /// taken) when it holds fewer.
    pub async fn take(&self, key: &str, tokens: f64) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        if let Some(redis) = &self.shared {
            if let Some(ok) = redis.take_tokens(key, tokens, self.per_second, self.burst).await {
                return ok;
            }
        }
        self.refilled(key, tokens, true)
    }

    /// Whole seconds until a bucket refills `tokens` from empty: what a
    /// refused caller is told to wait.
    pub fn seconds_for(&self, tokens: f64) -> u64 {
        if self.per_second <= 0.0 {
            return 1;
        }
        // Float to integer: a bucket's few seconds, never near the bounds.
        ((tokens / self.per_second).ceil() as u64).max(1)
    }

    /// Sustained tokens per second (0 when limiting is off).
    pub fn per_second(&self) -> f64 {
        self.per_second
    }

    /// Most tokens a bucket holds.
    pub fn burst(&self) -> f64 {
        self.burst
    }

    /// Takes one token from this replica's bucket for `key`, if any left.
    pub fn take_here(&self, key: &str) {
        if self.per_second > 0.0 {
            self.refilled(key, 1.0, true);
        }
    }

    /// True when this replica's bucket for `key` holds a token (none taken).
    pub fn has_token(&self, key: &str) -> bool {
        self.per_second <= 0.0 || self.refilled(key, 1.0, false)
    }

    /// Refills `key`'s bucket to now; whether it holds `tokens`, taken
    /// when `take`.
    fn refilled(&self, key: &str, tokens: f64, take: bool) -> bool {
        let bucket = self.buckets.get_with(key.to_owned(), || Arc::new(Mutex::new((self.burst, Instant::now()))));
        let mut b = match bucket.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let now = Instant::now();
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * self.per_second).min(self.burst);
        b.1 = now;
        if b.0 >= tokens {
            if take {
                b.0 -= tokens;
            }
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_drain_and_refill() {
        // One token a second: slow enough that no refill sneaks in between
        // the calls on a loaded machine.
        let l = super::RateLimiter::new(1, 3);
        let take = |key: &str| l.refilled(key, 1.0, true);
        assert!(take("a") && take("a") && take("a"));
        assert!(!take("a"), "burst spent");
        assert!(take("b"), "buckets are per credential");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert!(take("a"), "refilled");
    }

    #[test]
    fn a_costly_request_takes_all_its_tokens_or_none() {
        let l = super::RateLimiter::new(1, 10);
        assert!(!l.refilled("a", 11.0, true), "more than the bucket holds");
        assert!(l.refilled("a", 8.0, true), "nothing was taken by the refusal");
        assert!(!l.refilled("a", 3.0, true), "two left");
        assert!(l.refilled("a", 2.0, true));
    }
}
