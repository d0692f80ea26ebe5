//! What a document's weight (`graphql::weights`) decides before it runs,
//! over HTTP and WebSocket alike:
//!
//! - its charge to the caller's rate budget: every request took one token
//!   at the door (before its document was parsed); here it takes one more
//!   per `cost_per_token` of weight, all or none;
//! - its share of its organization's work in flight
//!   (`TENANT_MAX_CONCURRENT_COST`): a tenant's heavy documents queue
//!   behind each other, not in front of everyone;
//! - whether it runs on a thread of its own (heavier than
//!   `HEAVY_DOCUMENT_COST`), so that the operating system shares the cores
//!   between it and the runtime's workers: a long stretch of synchronous
//!   work (thousands of ready fields, a large answer) never holds a worker
//!   that small requests are waiting for.

use crate::auth::rate_limit::RateLimiter;
use crate::auth::Principal;
use crate::error::AppError;
use crate::tenant_slots::{Slot, TenantSlots};

/// The rules (see the module).
#[derive(Clone)]
pub struct Admission {
    /// The rate budget; `None` when limiting or the charge is off.
    pub limiter: Option<RateLimiter>,
    /// Weight that costs one more token (0: none).
    pub cost_per_token: usize,
    /// Each organization's share of work in flight, by weight.
    pub work: TenantSlots,
    /// Documents weighing more run on a thread of their own (0: never).
    pub heavy_from: usize,
}

/// An admitted document: its share of its organization's work, held
/// while it runs, and whether it runs on a thread of its own.
pub struct Admitted {
    /// Given back when dropped.
    pub share: Slot,
    /// Runs on a thread of its own.
    pub heavy: bool,
}

/// A refused document: the error, and the seconds to wait when waiting
/// would help (HTTP: 429 with `Retry-After`).
pub struct Refusal {
    /// LIMIT_EXCEEDED.
    pub error: AppError,
    /// Seconds until it could pass.
    pub retry_after: Option<u64>,
}

impl Admission {
    /// Charges and admits a document of `weight` for `who`.
    pub async fn admit(&self, who: &Principal, weight: usize) -> Result<Admitted, Refusal> {
        self.charge(who, weight).await?;
        let share = self.work.enter_weighing(who.organization_id, weight).await;
        let share = share.map_err(|error| Refusal { error, retry_after: Some(1) })?;
        Ok(Admitted { share, heavy: self.heavy_from > 0 && weight > self.heavy_from })
    }

    /// Takes the tokens `weight` costs beyond the one taken at the door.
    async fn charge(&self, who: &Principal, weight: usize) -> Result<(), Refusal> {
        let Some(limiter) = self.limiter.as_ref().filter(|_| self.cost_per_token > 0) else { return Ok(()) };
        let extra = weight / self.cost_per_token;
        // Float from a count: a few hundred tokens at most, exact.
        #[allow(clippy::cast_precision_loss)]
        let tokens = extra as f64;
        if extra == 0 || limiter.take(&who.limit_key(), tokens).await {
            return Ok(());
        }
        let costs = format!("this document weighs {weight} and costs {} requests of the rate limit", extra + 1);
        if tokens >= limiter.burst() {
            // No wait would make it pass: no Retry-After, and the message says so.
            let message =
                format!("{costs}, more than a credential's whole burst; ask for less (smaller pages, fewer aliases)");
            return Err(Refusal { error: AppError::LimitExceeded(message), retry_after: None });
        }
        let message = format!("{costs}, more than this credential has left; slow down");
        Err(Refusal { error: AppError::LimitExceeded(message), retry_after: Some(limiter.seconds_for(tokens)) })
    }
}

/// Runs `work` on a thread of its own when `heavy` (and the runtime can
/// lend one: a multi-threaded runtime), else as any other future.
pub async fn run_on_own_thread_if<F: std::future::Future>(heavy: bool, work: F) -> F::Output {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if heavy && multi_thread {
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(work))
    } else {
        work.await
    }
}
