//! Domain events, published after their transaction commits.
//!
//! The embedded default fans out in-process with a broadcast channel. Each
//! event carries its organization, so a subscriber filters by tenant before
//! anything else.

use crate::domain::AccountStatus;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

pub mod redis_fanout;

/// How many events a slow subscriber may fall behind before it loses them.
pub const BUFFER: usize = 4096;

/// Something that happened, after commit.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type")]
pub enum DomainEvent {
    /// An account's status changed.
    AccountStatusChanged {
        /// Tenant.
        organization_id: Uuid,
        /// The account.
        account_id: Uuid,
        /// Its owner, for owner filters.
        owner_id: Option<Uuid>,
        /// Status before.
        previous: AccountStatus,
        /// Status after.
        status: AccountStatus,
        /// Reason code given.
        reason_code: Option<String>,
        /// Reason text given.
        reason_description: Option<String>,
        /// Who changed it.
        actor: String,
        /// When.
        at: DateTime<Utc>,
    },
    /// An asset's balance changed.
    BalanceChanged {
        /// Tenant.
        organization_id: Uuid,
        /// The account holding the asset.
        account_id: Uuid,
        /// The asset.
        asset_id: Uuid,
        /// When.
        at: DateTime<Utc>,
    },
}

impl DomainEvent {
    /// The event's organization.
    pub fn organization_id(&self) -> Uuid {
        match self {
            DomainEvent::AccountStatusChanged { organization_id, .. }
            | DomainEvent::BalanceChanged { organization_id, .. } => *organization_id,
        }
    }
}

/// The event bus: subscribers read a local broadcast; with Redis, events
/// travel through one pub/sub channel so every replica's subscribers hear
/// every replica's changes, each exactly once.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Arc<DomainEvent>>,
    redis: Option<Arc<redis_fanout::RedisFanout>>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (local, _) = broadcast::channel(BUFFER);
        EventBus { local, redis: None }
    }
}

impl EventBus {
    /// A bus fanned out through Redis at `url` on channel `{prefix}events`;
    /// starts the task that listens (and reconnects with backoff).
    pub fn with_redis(url: &str, prefix: &str, metrics: crate::metrics::Metrics) -> redis::RedisResult<Self> {
        let bus = EventBus::default();
        let fanout = redis_fanout::RedisFanout::start(url, &format!("{prefix}events"), bus.local.clone(), metrics)?;
        Ok(EventBus { local: bus.local, redis: Some(Arc::new(fanout)) })
    }

    /// Publishes committed events. Through Redis when configured (the
    /// listener delivers them here too); straight to local subscribers when
    /// Redis is not configured or refuses the publish.
    pub async fn publish(&self, events: Vec<DomainEvent>) {
        for e in events {
            let delivered = match &self.redis {
                Some(r) => r.publish(&e).await,
                None => false,
            };
            if !delivered {
                let _ = self.local.send(Arc::new(e));
            }
        }
    }

    /// A new subscription to every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<DomainEvent>> {
        self.local.subscribe()
    }
}
