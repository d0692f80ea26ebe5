//! Domain events, published after their transaction commits.
//!
//! The embedded default fans out in-process with a broadcast channel. Each
//! event carries its organization, so a subscriber filters by tenant before
//! anything else.

use crate::domain::AccountStatus;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use std::sync::Arc;
use tokio::sync::broadcast;
use uuid::Uuid;

pub mod redis_stream;

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
        /// The balance right after this change (what its journal row
        /// says). Absent from events written before it was carried: those
        /// read the balance when delivered.
        #[serde(default)]
        balance: Option<BalanceAfter>,
        /// The transfer that moved it, when one did.
        #[serde(default)]
        transfer_id: Option<Uuid>,
        /// Who made the change (absent from events written before it was
        /// carried).
        #[serde(default)]
        actor: Option<String>,
    },
    /// Anything else that happened to an account or what it holds.
    AccountChanged {
        /// Tenant.
        organization_id: Uuid,
        /// The account.
        account_id: Uuid,
        /// What happened.
        kind: ChangeKind,
        /// The asset, wallet or card it happened to (by `kind`).
        subject_id: Option<Uuid>,
        /// Who made the change.
        actor: String,
        /// When.
        at: DateTime<Utc>,
    },
}

/// The changes [`DomainEvent::AccountChanged`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChangeKind {
    /// The account was created.
    Created,
    /// Its editable fields changed.
    Updated,
    /// An asset was added (`subject_id`).
    AssetAdded,
    /// An asset's status changed (`subject_id`).
    AssetStatusChanged,
    /// A wallet was added (`subject_id`).
    WalletAdded,
    /// A wallet was activated or deactivated (`subject_id`).
    WalletChanged,
    /// A smart card was issued (`subject_id`).
    CardIssued,
    /// A smart card was activated or deactivated (`subject_id`).
    CardChanged,
}

/// A committed event with its place in its organization's stream: 1, 2,
/// 3, ... in commit order, with no hole (0 for an event sent without being
/// logged, which only the older subscriptions see).
#[derive(Clone, Debug, PartialEq)]
pub struct Sequenced {
    /// The event's number in its organization's stream.
    pub seq: i64,
    /// The event.
    pub event: DomainEvent,
}

impl std::ops::Deref for Sequenced {
    type Target = DomainEvent;
    fn deref(&self) -> &DomainEvent {
        &self.event
    }
}

/// An asset's amounts right after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BalanceAfter {
    /// Spendable now.
    pub available: Decimal,
    /// Held.
    pub on_hold: Decimal,
    /// Incoming, not settled.
    pub future: Decimal,
    /// The credit line.
    pub credit_limit: Decimal,
}

impl DomainEvent {
    /// The event's organization.
    pub fn organization_id(&self) -> Uuid {
        match self {
            DomainEvent::AccountStatusChanged { organization_id, .. }
            | DomainEvent::BalanceChanged { organization_id, .. }
            | DomainEvent::AccountChanged { organization_id, .. } => *organization_id,
        }
    }

    /// The account it happened to.
    pub fn account_id(&self) -> Uuid {
        match self {
            DomainEvent::AccountStatusChanged { account_id, .. }
            | DomainEvent::BalanceChanged { account_id, .. }
            | DomainEvent::AccountChanged { account_id, .. } => *account_id,
        }
    }

    /// When it committed.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            DomainEvent::AccountStatusChanged { at, .. }
            | DomainEvent::BalanceChanged { at, .. }
            | DomainEvent::AccountChanged { at, .. } => *at,
        }
    }
}

/// An event as it travels between replicas: the replica that committed it
/// has delivered it to its own subscribers already and skips it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Envelope {
    /// The replica that committed the event.
    pub origin: Uuid,
    /// Its number in its organization's stream (0 in envelopes written
    /// before events were numbered).
    #[serde(default)]
    pub seq: i64,
    /// The event.
    pub event: DomainEvent,
}

/// The event bus. Subscribers read a local broadcast. A committed event
/// reaches this replica's subscribers at once; with Redis, it is also
/// written to the outbox in its transaction and relayed through a Redis
/// stream that every replica reads from where it left off, so neither a
/// Redis outage nor a replica's reconnect loses it. Writers never wait for
/// Redis.
#[derive(Clone)]
pub struct EventBus {
    local: broadcast::Sender<Arc<Sequenced>>,
    /// This replica's id, stamped on what it relays.
    replica: Uuid,
    stream: Option<Arc<redis_stream::RedisStream>>,
    /// Wakes the relay after a commit that wrote to the outbox.
    relay_wake: Arc<tokio::sync::Notify>,
    /// Events published and missed.
    metrics: crate::metrics::Metrics,
}

impl Default for EventBus {
    fn default() -> Self {
        let (local, _) = broadcast::channel(BUFFER);
        EventBus {
            local,
            replica: Uuid::new_v4(),
            stream: None,
            relay_wake: Arc::new(tokio::sync::Notify::new()),
            metrics: crate::metrics::Metrics::default(),
        }
    }
}

impl EventBus {
    /// A bus relayed through the Redis stream `{prefix}events` on `target`;
    /// starts the task that reads it (and reconnects with backoff).
    pub fn with_redis(target: crate::redis_conn::RedisTarget, prefix: &str, metrics: crate::metrics::Metrics) -> Self {
        let bus = EventBus::default().with_metrics(metrics.clone());
        let stream = redis_stream::RedisStream::new(target, &format!("{prefix}events"), metrics);
        stream.spawn_reader(bus.replica, bus.local.clone());
        EventBus { stream: Some(Arc::new(stream)), ..bus }
    }

    /// The bus, counting into `metrics`.
    pub fn with_metrics(self, metrics: crate::metrics::Metrics) -> Self {
        EventBus { metrics, ..self }
    }

    /// Where the bus counts events.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// The Redis stream, when events travel between replicas.
    pub fn stream(&self) -> Option<&Arc<redis_stream::RedisStream>> {
        self.stream.as_ref()
    }

    /// The outbox rows for `events`, or none when events stay in this
    /// process (no Redis: a single replica).
    pub fn outbox_payloads(&self, events: &[Sequenced]) -> Vec<String> {
        if self.stream.is_none() {
            return Vec::new();
        }
        events
            .iter()
            .filter_map(|e| {
                let envelope = Envelope { origin: self.replica, seq: e.seq, event: e.event.clone() };
                match serde_json::to_string(&envelope) {
                    Ok(text) => Some(text),
                    Err(e) => {
                        // Cannot happen for these plain types; never silently.
                        tracing::error!(error = %e, "an event could not be encoded for the outbox");
                        None
                    }
                }
            })
            .collect()
    }

    /// Delivers committed events to this replica's subscribers and wakes
    /// the relay. Never waits.
    pub fn committed(&self, events: Vec<Sequenced>) {
        let relayed = self.stream.is_some() && !events.is_empty();
        self.metrics.events_published(events.len());
        for e in events {
            let _ = self.local.send(Arc::new(e));
        }
        if relayed {
            self.relay_wake.notify_one();
        }
    }

    /// What the relay waits on.
    pub fn relay_wake(&self) -> Arc<tokio::sync::Notify> {
        self.relay_wake.clone()
    }

    /// A new subscription to every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Sequenced>> {
        self.local.subscribe()
    }

    /// Subscriptions listening on this replica now.
    pub fn subscribers(&self) -> usize {
        self.local.receiver_count()
    }
}
