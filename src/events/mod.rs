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

/// How many events a slow subscriber may fall behind before it loses them.
pub const BUFFER: usize = 4096;

/// Something that happened, after commit.
#[derive(Clone, Debug, PartialEq)]
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

/// The in-process event bus.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<DomainEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(BUFFER);
        EventBus { tx }
    }
}

impl EventBus {
    /// Publishes committed events; having no subscriber is fine.
    pub fn publish(&self, events: Vec<DomainEvent>) {
        for e in events {
            let _ = self.tx.send(Arc::new(e));
        }
    }

    /// A new subscription to every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<DomainEvent>> {
        self.tx.subscribe()
    }
}
