//! Automatic persisted queries, Apollo's protocol: a client first sends only
//! `extensions.persistedQuery.sha256Hash`; an unknown hash is answered
//! `PERSISTED_QUERY_NOT_FOUND`, and the client sends the document with its
//! hash, which is checked and kept.
//!
//! Resolved here, at the HTTP edge, before anything else looks at the
//! document: a document fetched by hash then goes through exactly the checks
//! a sent one does (length, parser depth, mutation over GET, depth and
//! complexity). A sent document is kept only once it has passed all of them
//! and the rate limiter, so a refused request never fills the store. The
//! store is bounded in bytes, in memory and in Redis alike (least recently
//! registered first out); through Redis every replica knows a hash another
//! one learnt.

use crate::error::AppError;
use crate::redis_cache::RedisLayer;
use async_graphql::{Request, ServerError};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The Redis hash holding the documents (its order and byte count beside it).
const REDIS_KEY: &str = "docs";

/// The persisted-query store of a process.
#[derive(Clone)]
pub struct PersistedQueries {
    local: moka::sync::Cache<String, Arc<str>>,
    redis: Option<Arc<RedisLayer>>,
    max_bytes: u64,
}

fn invalid(message: &str) -> ServerError {
    AppError::invalid("extensions.persistedQuery", message).to_server_error()
}

impl PersistedQueries {
    /// A store holding at most `max_bytes` of documents in memory.
    pub fn new(max_bytes: u64, redis: Option<RedisLayer>) -> Self {
        let local = moka::sync::Cache::builder()
            .weigher(|k: &String, v: &Arc<str>| u32::try_from(k.len() + v.len()).unwrap_or(u32::MAX))
            .max_capacity(max_bytes)
            .build();
        PersistedQueries { local, redis: redis.map(Arc::new), max_bytes }
    }

    /// Applies the request's `persistedQuery` extension, if any: fills in
    /// the document of a hash-only request, or checks a sent document
    /// against its hash. Returns the hash to [`register`](Self::register)
    /// once the document has passed its checks.
    pub async fn resolve(&self, req: &mut Request) -> Result<Option<String>, ServerError> {
        let Some(ext) = req.extensions.get("persistedQuery") else { return Ok(None) };
        let async_graphql::Value::Object(fields) = ext else {
            return Err(invalid("persistedQuery must be an object {version: 1, sha256Hash}"));
        };
        let version = fields.get("version").and_then(|v| match v {
            async_graphql::Value::Number(n) => n.as_i64(),
            _ => None,
        });
        if version != Some(1) {
            return Err(invalid("persistedQuery.version must be 1"));
        }
        let hash = match fields.get("sha256Hash") {
            Some(async_graphql::Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                h.to_ascii_lowercase()
            }
            _ => return Err(invalid("persistedQuery.sha256Hash must be 64 hex digits")),
        };
        if req.query.is_empty() {
            return match self.lookup(&hash).await {
                Some(query) => {
                    req.query = query.to_string();
                    Ok(None)
                }
                None => Err(AppError::PersistedQueryNotFound.to_server_error()),
            };
        }
        if hex::encode(Sha256::digest(req.query.as_bytes())) != hash {
            return Err(invalid("provided sha does not match query"));
        }
        Ok(Some(hash))
    }

    /// Keeps `query` under `hash` (already checked to match), here and in
    /// Redis, each within the configured bytes.
    pub async fn register(&self, hash: String, query: &str) {
        if let Some(redis) = &self.redis {
            redis.keep_bounded(REDIS_KEY, &hash, query, self.max_bytes).await;
        }
        self.local.insert(hash, Arc::from(query));
    }

    async fn lookup(&self, hash: &str) -> Option<Arc<str>> {
        if let Some(q) = self.local.get(hash) {
            return Some(q);
        }
        let redis = self.redis.as_ref()?;
        let found = redis.hash_field(REDIS_KEY, hash).await?;
        // A document in Redis was registered by some replica; it is checked
        // again like any other before it runs.
        if hex::encode(Sha256::digest(found.as_bytes())) != hash {
            return None;
        }
        let query: Arc<str> = Arc::from(found);
        self.local.insert(hash.to_owned(), query.clone());
        Some(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, hash: &str) -> Request {
        let mut req = Request::new(query);
        req.extensions.insert("persistedQuery".into(), async_graphql::value!({"version": 1, "sha256Hash": hash}));
        req
    }

    #[tokio::test]
    async fn unknown_then_registered_then_found() {
        let store = PersistedQueries::new(1 << 20, None);
        let query = "{ viewer { role } }";
        let hash = hex::encode(Sha256::digest(query));
        let err = store.resolve(&mut with_hash("", &hash)).await.err().map(|e| e.message);
        assert_eq!(err.as_deref(), Some("PersistedQueryNotFound"));
        let bad = store.resolve(&mut with_hash("{ other }", &hash)).await.err().map(|e| e.message);
        assert_eq!(bad.as_deref(), Some("provided sha does not match query"));
        let to_keep = store.resolve(&mut with_hash(query, &hash)).await.ok().flatten();
        assert_eq!(to_keep.as_deref(), Some(hash.as_str()));
        store.register(hash.clone(), query).await;
        let mut hash_only = with_hash("", &hash);
        assert!(store.resolve(&mut hash_only).await.is_ok());
        assert_eq!(hash_only.query, query);
    }

    #[tokio::test]
    async fn the_store_is_bounded_in_bytes() {
        let store = PersistedQueries::new(64 * 1024, None);
        let big = "x".repeat(4096);
        for i in 0..100 {
            store.register(format!("{i:064}"), &big).await;
        }
        store.local.run_pending_tasks();
        assert!(store.local.weighted_size() <= 64 * 1024, "{}", store.local.weighted_size());
    }
}
