//! Each organization's share of the database: at most so many of its
//! requests run at once, whatever else runs. The rest wait their turn
//! briefly, in order, and past that wait are refused (`LIMIT_EXCEEDED`,
//! HTTP 429) for that organization only; the pools' connections stay
//! available to the others, whose requests never queue behind it.

use crate::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Running requests per organization.
#[derive(Clone)]
pub struct TenantSlots {
    per_tenant: usize,
    wait: Duration,
    /// A semaphore lives as long as someone holds one of its permits.
    slots: Arc<Mutex<HashMap<Uuid, Weak<Semaphore>>>>,
}

/// A running request's slot, given back when dropped.
pub struct Slot {
    _permit: Option<OwnedSemaphorePermit>,
}

impl TenantSlots {
    /// `per_tenant` requests at once per organization (0: no cap), each
    /// other waiting at most `wait` for a slot.
    pub fn new(per_tenant: usize, wait: Duration) -> Self {
        TenantSlots { per_tenant, wait, slots: Arc::default() }
    }

    fn semaphore(&self, organization: Uuid) -> Arc<Semaphore> {
        let mut slots = self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(live) = slots.get(&organization).and_then(Weak::upgrade) {
            return live;
        }
        // Forget organizations with nothing running, now and then.
        if slots.len() > 1024 {
            slots.retain(|_, s| s.strong_count() > 0);
        }
        let fresh = Arc::new(Semaphore::new(self.per_tenant));
        slots.insert(organization, Arc::downgrade(&fresh));
        fresh
    }

    /// A slot for a request of `organization`, or LIMIT_EXCEEDED once it
    /// has waited its turn for too long.
    pub async fn enter(&self, organization: Uuid) -> Result<Slot, AppError> {
        if self.per_tenant == 0 {
            return Ok(Slot { _permit: None });
        }
        let semaphore = self.semaphore(organization);
        match tokio::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Slot { _permit: Some(permit) }),
            _ => Err(AppError::LimitExceeded(format!(
                "this organization already runs {} requests at once; retry shortly",
                self.per_tenant
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_organization_waits_and_another_does_not() {
        let slots = TenantSlots::new(2, Duration::from_millis(50));
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let held = (slots.enter(a).await, slots.enter(a).await);
        assert!(held.0.is_ok() && held.1.is_ok());
        assert!(matches!(slots.enter(a).await, Err(AppError::LimitExceeded(_))), "a's share is taken");
        assert!(slots.enter(b).await.is_ok(), "b is not behind a");
        drop(held);
        assert!(slots.enter(a).await.is_ok(), "given back");
    }
}
