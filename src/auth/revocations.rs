//! Revoked API keys, as news for open sockets.
//!
//! An HTTP request looks its key up every time, so a revoked key stops
//! working on the next request. A WebSocket authenticates once; this watcher
//! tells every socket of this replica which keys were revoked, wherever the
//! revocation happened (the `api-key revoke` command, another replica), by
//! reading the keys table twice a second: one indexed query per replica,
//! whatever the number of sockets, and no dependency on Redis. On
//! PostgreSQL the notification of a changed key (see `key_cache`) makes it
//! read at once instead of at the next tick.

use crate::service::api_keys;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use uuid::Uuid;

/// How often the keys table is read.
pub const POLL: Duration = Duration::from_millis(500);
/// Revocations are read this far back: tolerates clocks of the processes
/// that revoke differing from this one's.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(2);

/// Where sockets hear of revoked keys.
#[derive(Clone)]
pub struct Revocations {
    sender: broadcast::Sender<Uuid>,
    /// Asks the watcher to read now rather than at its next tick.
    poke: Arc<Notify>,
}

impl Default for Revocations {
    fn default() -> Self {
        Revocations { sender: broadcast::channel(1024).0, poke: Arc::new(Notify::new()) }
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

    /// Starts reading revocations from `db` every [`POLL`] (and when poked).
    pub fn spawn_watcher(&self, db: DatabaseConnection) {
        let (sender, poke) = (self.sender.clone(), self.poke.clone());
        tokio::spawn(async move {
            // Keys revoked before this process started closed no socket of
            // it; they are only remembered so as not to be announced.
            let mut seen: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
            let mut first = true;
            let mut failing = false;
            let mut tick = tokio::time::interval(POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = poke.notified() => {}
                }
                let since = Utc::now() - OVERLAP;
                match api_keys::revoked_since(&db, since).await {
                    Ok(rows) => {
                        if failing {
                            tracing::info!("reading key revocations again");
                            failing = false;
                        }
                        for (id, at) in rows {
                            if seen.insert(id, at).is_none() && !first {
                                tracing::info!(key = %id, "API key revoked: closing its sockets");
                                let _ = sender.send(id);
                            }
                        }
                        seen.retain(|_, at| *at >= since - OVERLAP);
                        first = false;
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
