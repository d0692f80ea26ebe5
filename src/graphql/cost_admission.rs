//! What a document weighs decides what it may take of what all share.
//! async-graphql weighs each document while validating it (the complexity
//! model of `graphql::limits`, the same for POST, GET, persisted queries
//! and WebSocket); this extension then:
//!
//! - charges the weight to the caller's rate budget: every request took
//!   one token at the door (before its document was parsed), and here it
//!   takes one more per `cost_per_token` of weight, all or none;
//! - before a query or mutation runs, takes its weight from its
//!   organization's share of work in flight (`TENANT_MAX_CONCURRENT_COST`),
//!   so a tenant's heavy documents queue behind each other, not in front
//!   of everyone;
//! - runs a document heavier than `heavy_from` on a thread of its own
//!   (`block_in_place`), so the operating system shares the cores between
//!   it and the runtime's workers: a long synchronous stretch (thousands of
//!   ready fields, a large answer) never holds a worker that small
//!   requests are waiting for.
//!
//! It is the schema's only extension and hooks validation and execution
//! only: the hot objects resolve through `graphql::fast`, which bypasses
//! the per-field extension chain, so it costs nothing per field there.

use crate::auth::rate_limit::RateLimiter;
use crate::auth::Principal;
use crate::error::AppError;
use crate::tenant_slots::TenantSlots;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextValidation};
use async_graphql::{Response, ServerError, ValidationResult};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The error extension that tells a client (and the HTTP edge, which
/// answers 429 with `Retry-After`) how long to wait.
pub const RETRY_AFTER: &str = "retryAfterSeconds";

/// Charges each validated document's weight to its caller's bucket.
#[derive(Clone)]
pub struct CostCharge {
    limiter: RateLimiter,
    cost_per_token: usize,
}

impl CostCharge {
    /// Charges `limiter` one token per `cost_per_token` of weight; `None`
    /// when there is nothing to charge (limiting off, or a weight of 0
    /// per token, which turns the charge off).
    pub fn new(limiter: RateLimiter, cost_per_token: usize) -> Option<CostCharge> {
        (limiter.per_second() > 0.0 && cost_per_token > 0).then_some(CostCharge { limiter, cost_per_token })
    }

    /// Tokens a document of `complexity` takes beyond the one every
    /// request took at the door.
    pub fn extra_tokens(&self, complexity: usize) -> usize {
        complexity / self.cost_per_token
    }

    async fn charge(&self, who: &Principal, complexity: usize) -> Result<(), ServerError> {
        let extra = self.extra_tokens(complexity);
        // Float from a count: a few hundred tokens at most, exact.
        #[allow(clippy::cast_precision_loss)]
        let tokens = extra as f64;
        if extra == 0 || self.limiter.take(&who.limit_key(), tokens).await {
            return Ok(());
        }
        if tokens >= self.limiter.burst() {
            // No wait would make it pass: no Retry-After, and the message says so.
            return Err(AppError::LimitExceeded(format!(
                "this document weighs {complexity} and costs {} requests of the rate limit, more than a \
                 credential's whole burst; ask for less (smaller pages, fewer aliases)",
                extra + 1
            ))
            .to_server_error());
        }
        let e = AppError::LimitExceeded(format!(
            "this document weighs {complexity} and costs {} requests of the rate limit, more than this \
             credential has left; slow down",
            extra + 1
        ));
        let mut e = e.to_server_error();
        if let Some(x) = e.extensions.as_mut() {
            x.set(RETRY_AFTER, self.limiter.seconds_for(tokens));
        }
        Err(e)
    }
}

/// Everything the extension decides by weight (see the module).
pub struct AdmissionRules {
    /// The rate budget's charge, when rate limiting is on.
    pub charge: Option<CostCharge>,
    /// Each organization's share of work in flight, by weight.
    pub work: TenantSlots,
    /// Documents weighing more run on a thread of their own (0: never).
    pub heavy_from: usize,
    /// The request time limit, which a document on its own thread keeps
    /// by itself (nothing can cut it from outside while it runs there).
    pub time_limit: Duration,
}

/// The schema extension that applies [`AdmissionRules`].
pub struct CostAdmission(Arc<AdmissionRules>);

impl CostAdmission {
    /// The extension applying `rules`.
    pub fn new(rules: AdmissionRules) -> Self {
        CostAdmission(Arc::new(rules))
    }
}

impl ExtensionFactory for CostAdmission {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest { rules: self.0.clone(), weight: AtomicUsize::new(0) })
    }
}

/// One request's extension: the weight validation found, for execution.
struct PerRequest {
    rules: Arc<AdmissionRules>,
    weight: AtomicUsize,
}

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        self.weight.store(result.complexity, Ordering::Relaxed);
        // Every request runs with its principal; without one (the SDL
        // export) there is no one to charge.
        if let (Some(who), Some(charge)) = (ctx.data_opt::<Principal>(), &self.rules.charge) {
            charge.charge(who, result.complexity).await.map_err(|e| vec![e])?;
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let weight = self.weight.load(Ordering::Relaxed);
        let _share = match ctx.data_opt::<Principal>() {
            Some(who) => match self.rules.work.enter_weighing(who.organization_id, weight).await {
                Ok(share) => Some(share),
                Err(e) => return Response::from_errors(vec![e.to_server_error()]),
            },
            None => None,
        };
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if self.rules.heavy_from == 0 || weight <= self.rules.heavy_from || !multi_thread {
            return next.run(ctx, operation_name).await;
        }
        let limit = self.rules.time_limit;
        let run = tokio::time::timeout(limit, next.run(ctx, operation_name));
        match tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(run)) {
            Ok(response) => response,
            Err(_) => Response::from_errors(vec![AppError::LimitExceeded(format!(
                "the request ran past its time limit of {} ms",
                limit.as_millis()
            ))
            .to_server_error()]),
        }
    }
}

/// Seconds to wait, when `e` is a refused charge.
pub fn retry_after(e: &ServerError) -> Option<u64> {
    match e.extensions.as_ref()?.get(RETRY_AFTER)? {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
