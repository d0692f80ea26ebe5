//! A transfer between two assets of one currency.

use super::Checked;
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use rust_decimal::Decimal;
use uuid::Uuid;

/// `transfer`: `amount` from one asset to another, exactly once per key.
#[derive(Clone, Debug)]
pub struct NewTransfer {
    /// Replays with the same key and input return the first transfer.
    pub idempotency_key: String,
    /// The sending asset.
    pub from_asset_id: Uuid,
    /// The receiving asset.
    pub to_asset_id: Uuid,
    /// Greater than zero; its decimals are checked against the currency.
    pub amount: Decimal,
    /// Leaves the sender too, for the organization's FEE_PAYER account.
    pub fee: Option<Decimal>,
    /// Why, for the trail.
    pub reason: Option<String>,
    /// The integrator's data.
    pub metadata: Option<serde_json::Value>,
}

impl NewTransfer {
    /// Checks every field that needs no currency.
    pub fn check(self) -> AppResult<Checked<Self>> {
        if self.from_asset_id == self.to_asset_id {
            return Err(AppError::invalid("toAssetId", "must be another asset than fromAssetId"));
        }
        if self.amount <= Decimal::ZERO {
            return Err(AppError::invalid("amount", "must be greater than zero"));
        }
        if self.fee.is_some_and(|f| f < Decimal::ZERO) {
            return Err(AppError::invalid("fee", "must not be negative"));
        }
        let metadata = match self.metadata {
            Some(m) => Some(validate::metadata("metadata", Some(m))?),
            None => None,
        };
        Ok(Checked(NewTransfer {
            idempotency_key: validate::text("idempotencyKey", &self.idempotency_key, 200)?,
            reason: validate::optional("reason", self.reason.as_deref(), 500)?,
            // A zero fee is no fee: nothing moves to the fee payer.
            fee: self.fee.filter(|f| !f.is_zero()),
            metadata,
            ..self
        }))
    }
}
