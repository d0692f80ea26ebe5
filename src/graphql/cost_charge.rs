//! A tenant's rate budget is spent by what it runs: every request takes
//! one token at the door (before its document is parsed), and once
//! async-graphql has weighed the document (the complexity model of
//! `graphql::limits`, the same for POST, GET, persisted queries and
//! WebSocket) it takes one more token per `cost_per_token` of that
//! weight, all or none. A page of 50 accounts costs a few tokens; the
//! heaviest document the limits accept costs a large part of the burst.
//!
//! This is the schema's only extension and it only hooks validation: the
//! hot objects resolve through `graphql::fast`, which bypasses the
//! per-field extension chain, so the charge costs nothing per field there.

use crate::auth::rate_limit::RateLimiter;
use crate::auth::Principal;
use crate::error::AppError;
use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{ServerError, ValidationResult};
use std::sync::Arc;

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

impl ExtensionFactory for CostCharge {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for CostCharge {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        // Every request runs with its principal; without one (the SDL
        // export) there is no one to charge.
        if let Some(who) = ctx.data_opt::<Principal>() {
            self.charge(who, result.complexity).await.map_err(|e| vec![e])?;
        }
        Ok(result)
    }
}

/// Seconds to wait, when `e` is a refused charge.
pub fn retry_after(e: &ServerError) -> Option<u64> {
    match e.extensions.as_ref()?.get(RETRY_AFTER)? {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
