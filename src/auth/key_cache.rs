//! API keys remembered between requests, on PostgreSQL.
//!
//! Reading a key from the database is a round trip on every request; most
//! requests come with a key that was good a moment ago. Each replica keeps
//! the keys it has checked and forgets them all whenever PostgreSQL says a
//! key changed: a trigger notifies `api_keys_changed` when a key is updated
//! or deleted, whoever did it (the CLI, another replica, psql), as the
//! revoking transaction commits. A revoked key therefore stops working on
//! every replica as soon as the notification arrives (well under a
//! millisecond on one host), not after a time to live.
//!
//! The cache is only trusted while this replica is listening: when the
//! listening connection is lost, every key is read again from the database
//! until it is back (notifications sent meanwhile are lost, so the cache is
//! emptied on reconnecting too). A key read from the database is only
//! remembered if no notification arrived while it was being read, so a
//! revocation racing the read cannot leave the old answer behind. Entries
//! also expire after [`TTL`], a backstop rather than the mechanism.

use crate::auth::Principal;
use crate::metrics::Metrics;
use moka::sync::Cache;
use sea_orm::sqlx::postgres::PgListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The longest a key is remembered, notifications or not.
pub const TTL: Duration = Duration::from_secs(60);
/// Keys remembered at most (by their hashes).
const CAPACITY: u64 = 10_000;
/// The first wait before listening again after the connection was lost;
/// it doubles up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(100);
const MAX_RETRY: Duration = Duration::from_secs(5);
/// How long start-up waits for the first listening connection.
const FIRST_CONNECT: Duration = Duration::from_secs(2);

/// A connection listening on the key changes channel, or `None` (logged).
async fn connect(database_url: &str) -> Option<PgListener> {
    let listening = async {
        let mut listener = PgListener::connect(database_url).await?;
        listener.listen(migration::API_KEYS_CHANGED).await?;
        Ok::<_, sea_orm::sqlx::Error>(listener)
    };
    listening.await.inspect_err(|e| tracing::warn!(error = %e, "cannot listen for API key changes; retrying")).ok()
}

/// Checked keys by their SHA-256, valid while the replica listens.
#[derive(Clone)]
pub struct KeyCache(Arc<Shared>);

struct Shared {
    entries: Cache<String, Principal>,
    /// Bumped by every notification and by every change of `listening`:
    /// a read that saw it change must not be remembered.
    epoch: AtomicU64,
    listening: AtomicBool,
    metrics: Metrics,
}

/// Where a read from the database started, for [`KeyCache::remember`].
#[derive(Clone, Copy, Debug)]
pub struct ReadStart(u64);

impl KeyCache {
    /// A cache that trusts nothing until [`KeyCache::listen`] has connected.
    pub fn new(metrics: Metrics) -> Self {
        KeyCache(Arc::new(Shared {
            entries: Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build(),
            epoch: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            metrics,
        }))
    }

    /// Listens on `database_url` for key changes, reconnecting for as long
    /// as the process runs, and calls `on_change` after forgetting the keys
    /// at each change. Returns once the first attempt to listen has
    /// succeeded (keys are remembered from the first request) or failed
    /// (they are read from the database until a retry succeeds).
    pub async fn listen(&self, database_url: String, on_change: impl Fn() + Send + 'static) {
        let first = tokio::time::timeout(FIRST_CONNECT, connect(&database_url)).await.unwrap_or_else(|_| {
            tracing::warn!("listening for API key changes timed out; retrying");
            None
        });
        if first.is_some() {
            self.set_listening(true);
        }
        tokio::spawn(self.clone().keep_listening(first, database_url, on_change));
    }

    async fn keep_listening(
        self,
        mut listener: Option<PgListener>,
        database_url: String,
        on_change: impl Fn() + Send + 'static,
    ) {
        let mut retry = FIRST_RETRY;
        loop {
            if let Some(mut live) = listener.take() {
                retry = FIRST_RETRY;
                // `Ok(None)` is a lost connection: sqlx would reconnect
                // quietly, but whatever was sent meanwhile is lost.
                while let Ok(Some(_)) = live.try_recv().await {
                    self.forget_all();
                    on_change();
                }
                self.set_listening(false);
                tracing::warn!("lost the API key notifications: reading keys from the database");
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(MAX_RETRY);
            listener = connect(&database_url).await;
            if listener.is_some() {
                self.set_listening(true);
                tracing::info!("listening for API key changes again");
            }
        }
    }

    /// The principal of the key with this hash, if remembered and trusted.
    pub fn get(&self, hash: &str) -> Option<Principal> {
        if !self.0.listening.load(Ordering::SeqCst) {
            return None;
        }
        self.0.entries.get(hash)
    }

    /// Marks the start of a database read of a key.
    pub fn read_start(&self) -> ReadStart {
        ReadStart(self.0.epoch.load(Ordering::SeqCst))
    }

    /// Remembers what a read begun at `start` found, unless a key changed
    /// (or listening stopped) since.
    pub fn remember(&self, hash: String, principal: Principal, start: ReadStart) {
        if !self.0.listening.load(Ordering::SeqCst) || self.0.epoch.load(Ordering::SeqCst) != start.0 {
            return;
        }
        self.0.entries.insert(hash.clone(), principal);
        // A notification between the check and the insert bumped the epoch
        // before emptying the cache; seeing it bumped now, take the entry
        // back. Seeing it unbumped, the emptying comes after the insert.
        if self.0.epoch.load(Ordering::SeqCst) != start.0 {
            self.0.entries.invalidate(&hash);
        }
    }

    /// Forgets every key: some key changed.
    fn forget_all(&self) {
        self.0.epoch.fetch_add(1, Ordering::SeqCst);
        self.0.entries.invalidate_all();
    }

    fn set_listening(&self, on: bool) {
        // Whatever was remembered before may have missed a notification.
        self.forget_all();
        self.0.listening.store(on, Ordering::SeqCst);
        self.0.metrics.set_key_cache_listening(on);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;
    use uuid::Uuid;

    fn principal() -> Principal {
        Principal {
            organization_id: Uuid::nil(),
            role: Role::Viewer,
            subject: "key:t".into(),
            expires_at: None,
            api_key_id: Some(Uuid::nil()),
            issuer: None,
        }
    }

    #[test]
    fn nothing_is_trusted_while_not_listening() {
        let cache = KeyCache::new(Metrics::default());
        let start = cache.read_start();
        cache.remember("h".into(), principal(), start);
        assert!(cache.get("h").is_none(), "not listening: not remembered");
        cache.set_listening(true);
        let start = cache.read_start();
        cache.remember("h".into(), principal(), start);
        assert!(cache.get("h").is_some());
        cache.set_listening(false);
        assert!(cache.get("h").is_none(), "listening lost: not trusted");
        cache.set_listening(true);
        assert!(cache.get("h").is_none(), "listening again: emptied, notifications may have been missed");
    }

    #[test]
    fn a_change_during_the_read_is_not_overwritten_by_it() {
        let cache = KeyCache::new(Metrics::default());
        cache.set_listening(true);
        let start = cache.read_start();
        cache.forget_all(); // the key was revoked while it was being read
        cache.remember("h".into(), principal(), start);
        assert!(cache.get("h").is_none(), "the read's answer is older than the change");
        let start = cache.read_start();
        cache.remember("h".into(), principal(), start);
        assert!(cache.get("h").is_some());
        cache.forget_all();
        assert!(cache.get("h").is_none(), "a change forgets every key");
    }
}
