//! Revoked API keys, as news for open sockets.
//!
//! An HTTP request looks its key up every time, so a revoked key stops
//! working on the next request; so does every new operation over a socket.
//! A socket that only listens is told by this watcher: each replica knows
//! the keys its open sockets hold, and reads twice a second which of them
//! are still valid (one indexed query, whatever the number of sockets; no
//! dependency on Redis). A key revoked or deleted, whenever and by whom (the
//! `api-key revoke` command, another replica, psql), and whatever any
//! process's clock says, is announced to the sockets holding it. On
//! PostgreSQL the notification of a changed key (see `key_cache`) makes it
//! read at once instead of at the next tick.

use crate::service::api_keys;
use sea_orm::DatabaseConnection;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use uuid::Uuid;

/// How often the keys table is read.
pub const POLL: Duration = Duration::from_millis(500);

/// Where sockets hear of revoked keys.
#[derive(Clone)]
pub struct Revocations {
    sender: broadcast::Sender<Uuid>,
    /// Asks the watcher to read now rather than at its next tick.
    poke: Arc<Notify>,
    /// The keys open sockets hold, with how many sockets hold each.
    held: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations { sender: broadcast::channel(1024).0, poke: Arc::new(Notify::new()), held: Arc::default() }
    }
}

/// A socket's hold on its key, given back when dropped.
pub struct Held {
    key: Uuid,
    held: Arc<Mutex<HashMap<Uuid, usize>>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = held.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

impl Revocations {
    /// A receiver of the ids of keys revoked from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.sender.subscribe()
    }

    /// Some key changed: read revocations now.
    pub fn poke(&self) {
        self.poke.notify_one();
    }

    /// Notes that a socket holds `key` until the returned guard is dropped.
    pub fn hold(&self, key: Uuid) -> Held {
        *self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(key).or_default() += 1;
        Held { key, held: self.held.clone() }
    }

    fn held_keys(&self) -> Vec<Uuid> {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).keys().copied().collect()
    }

    /// Starts checking the held keys against `db` every [`POLL`] (and when
    /// poked).
    pub fn spawn_watcher(&self, db: DatabaseConnection) {
        let this = self.clone();
        tokio::spawn(async move {
            // Announced once each, while some socket still holds them.
            let mut announced: HashSet<Uuid> = HashSet::new();
            let mut failing = false;
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = this.poke.notified() => {}
                }
                let held = this.held_keys();
                announced.retain(|k| held.contains(k));
                if held.is_empty() {
                    continue;
                }
                match api_keys::valid_among(&db, &held).await {
                    Ok(valid) => {
                        if failing {
                            tracing::info!("reading key revocations again");
                            failing = false;
                        }
                        for id in held.into_iter().filter(|k| !valid.contains(k)) {
                            if announced.insert(id) {
                                tracing::info!(key = %id, "API key revoked: closing its sockets");
                                let _ = this.sender.send(id);
                            }
                        }
                    }
                    Err(e) if !failing => {
                        tracing::warn!(error = %e, "cannot read key revocations; retrying");
                        failing = true;
                    }
                    Err(_) => {}
                }
            }
        });
    }
}
