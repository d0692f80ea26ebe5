//! A cache in Redis shared by every replica (USD quotes, persisted query
//! documents): one MGET per batch, pipelined writes. Every call has a tight
//! timeout and a failure only costs the cache: the caller falls back to
//! memory (and, for quotes, the source).

use crate::metrics::Metrics;
use crate::redis_conn::{RedisConn, RedisTarget};
use redis::AsyncCommands;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long Redis is left alone after a failure before the next try: while
/// it is down or slow, calls skip it at once instead of each paying for it.
const RECONNECT_AFTER: Duration = Duration::from_secs(2);

/// A lazily connected Redis (one server or a cluster) with timeouts.
pub struct RedisLayer {
    target: RedisTarget,
    /// `{deployment prefix}{namespace}`, the hash tag of every key.
    prefix: String,
    timeout: Duration,
    link: Mutex<Link>,
    metrics: Metrics,
}

/// The connection, or why there is none.
#[derive(Default)]
struct Link {
    conn: Option<RedisConn>,
    failed_at: Option<Instant>,
    /// One caller connects; the others fall back meanwhile.
    connecting: bool,
}

/// Clears [`Link::connecting`] however the connecting caller ends, its
/// request dropped mid-connect included: a flag left set would keep every
/// later caller from trying again.
struct Connecting<'a>(&'a RedisLayer);

impl Drop for Connecting<'_> {
    fn drop(&mut self) {
        self.0.link().connecting = false;
    }
}

impl RedisLayer {
    /// A layer over `target`; keys are `{prefix namespace}key`.
    pub fn new(target: RedisTarget, prefix: &str, namespace: &str, timeout: Duration, metrics: Metrics) -> Self {
        RedisLayer {
            target,
            prefix: format!("{prefix}{namespace}"),
            timeout,
            link: Mutex::new(Link::default()),
            metrics,
        }
    }

    /// The Redis key of `key`.
    pub fn key(&self, key: &str) -> String {
        RedisTarget::tagged(&self.prefix, key)
    }

    fn link(&self) -> std::sync::MutexGuard<'_, Link> {
        // A panic elsewhere cannot leave a `Link` half-written: recover it.
        self.link.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn connection(&self) -> Option<RedisConn> {
        {
            let mut link = self.link();
            if let Some(c) = &link.conn {
                return Some(c.clone());
            }
            if link.connecting || link.failed_at.is_some_and(|t| t.elapsed() < RECONNECT_AFTER) {
                return None;
            }
            link.connecting = true;
        }
        let connecting = Connecting(self);
        let connected =
            tokio::time::timeout(self.timeout * 4, self.target.connect(self.timeout * 4, self.timeout, 1)).await;
        let conn = match connected {
            Ok(Ok(c)) => Some(c),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "redis unavailable; serving from memory");
                None
            }
            Err(_) => {
                tracing::warn!("redis connect timed out; serving from memory");
                None
            }
        };
        {
            let mut link = self.link();
            match &conn {
                Some(c) => link.conn = Some(c.clone()),
                None => {
                    self.metrics.redis_error();
                    link.failed_at = Some(Instant::now());
                }
            }
        }
        drop(connecting);
        conn
    }

    /// One MGET for `keys`; `None` when Redis could not answer in time.
    pub async fn get_many(&self, keys: &[String]) -> Option<Vec<Option<String>>> {
        if keys.is_empty() {
            return Some(Vec::new());
        }
        let mut conn = self.connection().await?;
        let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
        self.metrics.redis_batch();
        self.timed("redis MGET", conn.mget::<_, Vec<Option<String>>>(keys)).await
    }

    /// Takes `n` tokens (all or none) from the bucket `key` (`per_second`
    /// sustained, `burst` at once), atomically on the Redis server and by
    /// its clock, so every replica draws from one bucket. `None` when Redis
    /// could not answer in time.
    pub async fn take_tokens(&self, key: &str, n: f64, per_second: f64, burst: f64) -> Option<bool> {
        const BUCKET: &str = r"
            local rate, burst, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
            local t = redis.call('TIME')
            local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
            local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
            local tokens = tonumber(b[1]) or burst
            local at = tonumber(b[2]) or now
            tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
            local ok = 0
            if tokens >= n then tokens = tokens - n; ok = 1 end
            redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
            redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 60)
            return ok";
        let mut conn = self.connection().await?;
        let script = redis::Script::new(BUCKET);
        let mut call = script.key(self.key(key));
        call.arg(per_second).arg(burst).arg(n);
        let taken = self.timed("redis rate limit (limiting in memory)", call.invoke_async::<i64>(&mut conn)).await;
        taken.map(|ok| ok == 1)
    }

    /// Keeps `value` under `field` of the hash `key`, within `max_bytes` for
    /// the whole hash: the fields least recently kept are dropped first, so
    /// no caller can grow it past the bound whatever it sends. Atomic on the
    /// server; a failure only costs the shared copy.
    pub async fn keep_bounded(&self, key: &str, field: &str, value: &str, max_bytes: u64) {
        const KEEP: &str = r"
            local docs, order, total = KEYS[1], KEYS[2], KEYS[3]
            local field, value, max = ARGV[1], ARGV[2], tonumber(ARGV[3])
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            if redis.call('HEXISTS', docs, field) == 0 then
                redis.call('HSET', docs, field, value)
                redis.call('INCRBY', total, #field + #value)
            end
            redis.call('ZADD', order, now, field)
            while tonumber(redis.call('GET', total) or '0') > max do
                local oldest = redis.call('ZPOPMIN', order)
                if #oldest == 0 then redis.call('SET', total, 0) break end
                local len = redis.call('HSTRLEN', docs, oldest[1])
                redis.call('HDEL', docs, oldest[1])
                redis.call('DECRBY', total, len + #oldest[1])
            end
            return 1";
        let Some(mut conn) = self.connection().await else { return };
        let script = redis::Script::new(KEEP);
        let mut call = script.prepare_invoke();
        call.key(self.key(key)).key(self.key(&format!("{key}:order"))).key(self.key(&format!("{key}:bytes")));
        call.arg(field).arg(value).arg(max_bytes);
        self.timed("redis bounded write", call.invoke_async::<i64>(&mut conn)).await;
    }

    /// One field of the hash `key`; `None` when absent or Redis could not
    /// answer in time.
    pub async fn hash_field(&self, key: &str, field: &str) -> Option<String> {
        let mut conn = self.connection().await?;
        self.metrics.redis_batch();
        self.timed("redis HGET", conn.hget::<_, _, Option<String>>(self.key(key), field)).await.flatten()
    }

    /// Writes `(key, value)` pairs in one pipeline, each expiring after `ttl`.
    pub async fn set_many(&self, entries: &[(String, String)], ttl: Duration) {
        if entries.is_empty() {
            return;
        }
        let Some(mut conn) = self.connection().await else { return };
        let mut pipe = redis::pipe();
        for (key, value) in entries {
            pipe.cmd("SET").arg(self.key(key)).arg(value).arg("EX").arg(ttl.as_secs().max(1)).ignore();
        }
        self.timed("redis write", pipe.query_async::<()>(&mut conn)).await;
    }

    /// One call within the timeout; a failure or a timeout is logged as
    /// `what`, counted, and `None`: the caller falls back.
    async fn timed<T>(&self, what: &str, call: impl std::future::Future<Output = redis::RedisResult<T>>) -> Option<T> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "{what} failed");
                self.broken();
                None
            }
            Err(_) => {
                tracing::warn!("{what} timed out");
                self.broken();
                None
            }
        }
    }

    /// Drops the connection after a failed call, so the calls of the next
    /// seconds skip Redis instead of each waiting for it to fail again.
    fn broken(&self) {
        self.metrics.redis_error();
        let mut link = self.link();
        link.conn = None;
        link.failed_at = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A caller dropped while it connects (its request cut short) must not
    /// leave the layer believing somebody is still connecting.
    #[tokio::test]
    async fn a_caller_dropped_mid_connect_lets_later_callers_try() -> Result<(), Box<dyn std::error::Error>> {
        // A "server" that takes connections and never answers a byte, so
        // connecting waits for the layer's own (long) timeout.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("redis://{}", listener.local_addr()?);
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let target = RedisTarget::single(&url)?;
        let layer = Arc::new(RedisLayer::new(target, "t:", "n:", Duration::from_secs(30), Metrics::default()));
        let caller = {
            let layer = layer.clone();
            tokio::spawn(async move { layer.get_many(&["k".to_owned()]).await })
        };
        let started = Instant::now();
        while !layer.link().connecting {
            assert!(started.elapsed() < Duration::from_secs(10), "the caller never started connecting");
            tokio::task::yield_now().await;
        }
        caller.abort();
        assert!(caller.await.is_err_and(|e| e.is_cancelled()));
        assert!(!layer.link().connecting, "a dropped caller leaves nobody connecting");
        silent.abort();
        Ok(())
    }
}
