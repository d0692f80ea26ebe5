//! Each organization's share of what all share: at most so many of its
//! requests run at once (the pools' connections), and at most so much
//! weight of work (its documents' complexity, the CPU) is in flight,
//! whatever else runs. The rest wait their turn briefly, in order, and
//! past that wait are refused (`LIMIT_EXCEEDED`, HTTP 429) for that
//! organization only; the others never queue behind it.

use crate::error::AppError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Running requests (or weight of work) per organization.
#[derive(Clone)]
pub struct TenantSlots {
    per_tenant: usize,
    /// What a unit is, for the refusal ("requests").
    unit: &'static str,
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
        TenantSlots::weighing(per_tenant, wait, "requests")
    }

    /// `per_tenant` units of `unit` at once per organization (0: no cap).
    pub fn weighing(per_tenant: usize, wait: Duration, unit: &'static str) -> Self {
        TenantSlots { per_tenant, unit, wait, slots: Arc::default() }
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
        let fresh = Arc::new(Semaphore::new(self.per_tenant.min(Semaphore::MAX_PERMITS)));
        slots.insert(organization, Arc::downgrade(&fresh));
        fresh
    }

    /// A slot for a request of `organization`, or LIMIT_EXCEEDED once it
    /// has waited its turn for too long.
    pub async fn enter(&self, organization: Uuid) -> Result<Slot, AppError> {
        self.enter_weighing(organization, 1).await
    }

    /// Slots for work of `weight` (at most the whole share, so that the
    /// heaviest work runs alone rather than never).
    pub async fn enter_weighing(&self, organization: Uuid, weight: usize) -> Result<Slot, AppError> {
        if self.per_tenant == 0 {
            return Ok(Slot { _permit: None });
        }
        let semaphore = self.semaphore(organization);
        let weight = u32::try_from(weight.clamp(1, self.per_tenant)).unwrap_or(u32::MAX);
        match tokio::time::timeout(self.wait, semaphore.acquire_many_owned(weight)).await {
            Ok(Ok(permit)) => Ok(Slot { _permit: Some(permit) }),
            _ => Err(AppError::LimitExceeded(format!(
                "this organization already runs {} {} at once; retry shortly",
                self.per_tenant, self.unit
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

    #[tokio::test]
    async fn work_is_shared_by_weight_and_the_heaviest_runs_alone() {
        let work = TenantSlots::weighing(10, Duration::from_millis(50), "of weight");
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let heavy = work.enter_weighing(a, 8).await;
        assert!(heavy.is_ok());
        assert!(matches!(work.enter_weighing(a, 5).await, Err(AppError::LimitExceeded(_))), "2 of 10 left");
        assert!(work.enter_weighing(a, 2).await.is_ok(), "light work still fits");
        assert!(work.enter_weighing(b, 10).await.is_ok(), "b has a share of its own");
        drop(heavy);
        assert!(work.enter_weighing(a, 1_000).await.is_ok(), "past the share: taken as the whole share, alone");
    }
}
