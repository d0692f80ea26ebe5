//! Asset, balance, wallet and card commands.

use super::Checked;
use crate::domain::cards::{expires_at, luhn_valid};
use crate::domain::validate;
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

/// A new asset of an account (`addAsset`, or with `createAccount`).
#[derive(Clone, Debug)]
pub struct NewAsset {
    /// Currency code.
    pub currency: String,
    /// Lands in `available`; its decimals are checked against the currency.
    pub initial_balance: Decimal,
    /// Credit line.
    pub credit_limit: Decimal,
    /// IBAN for fiat, an address otherwise (checked against the currency).
    pub address: Option<String>,
    /// The integrator's reference.
    pub external_id: Option<String>,
    /// Bank.
    pub bank: Option<String>,
    /// Third-party platform.
    pub platform: Option<String>,
}

impl NewAsset {
    /// Checks every field that needs no currency.
    pub fn check(self) -> AppResult<Checked<Self>> {
        Ok(Checked(NewAsset {
            currency: validate::code("currency", &self.currency, 10)?,
            address: self.address.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()),
            external_id: validate::handle("externalId", self.external_id.as_deref())?,
            bank: validate::optional("bank", self.bank.as_deref(), 100)?,
            platform: validate::optional("platform", self.platform.as_deref(), 100)?,
            ..self
        }))
    }
}

/// Balance deltas, applied exactly once per idempotency key.
#[derive(Clone, Debug)]
pub struct BalanceAdjustment {
    /// Replays with the same key return the first result.
    pub idempotency_key: String,
    /// Delta of available.
    pub available: Decimal,
    /// Delta of on hold.
    pub on_hold: Decimal,
    /// Delta of future.
    pub future: Decimal,
    /// Why, for the audit trail.
    pub reason: Option<String>,
}

impl BalanceAdjustment {
    /// Checks the key and the reason; the deltas need the currency.
    pub fn check(self) -> AppResult<Checked<Self>> {
        Ok(Checked(BalanceAdjustment {
            idempotency_key: validate::text("idempotencyKey", &self.idempotency_key, 200)?,
            reason: validate::optional("reason", self.reason.as_deref(), 500)?,
            ..self
        }))
    }

    /// The deltas of available, on hold and future.
    pub fn deltas(&self) -> [(&'static str, Decimal); 3] {
        [("available", self.available), ("onHold", self.on_hold), ("future", self.future)]
    }
}

/// A wallet address of an asset on a network.
#[derive(Clone, Debug)]
pub struct NewWallet {
    /// Network code.
    pub network: String,
    /// Address on that network (checked against the network).
    pub address: String,
}

impl NewWallet {
    /// Normalizes the network code and the address.
    pub fn check(self) -> AppResult<Checked<Self>> {
        Ok(Checked(NewWallet { network: self.network.trim().to_lowercase(), address: self.address.trim().to_owned() }))
    }
}

/// A card to issue.
#[derive(Clone, Debug)]
pub struct NewCard {
    /// Name on the card.
    pub name: String,
    /// The number: Luhn-valid, spaces and dashes dropped.
    pub card_number: String,
    /// MM/YY.
    pub expiration_date: String,
}

impl NewCard {
    /// Checks the name, the number and that the card is valid `today`
    /// and for at most 20 years.
    pub fn check(self, today: DateTime<Utc>) -> AppResult<Checked<Self>> {
        let name = validate::text("name", &self.name, 100)?;
        let card_number: String = self.card_number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if !luhn_valid(&card_number) {
            return Err(AppError::invalid("cardNumber", "is not a valid card number"));
        }
        let expiration_date = self.expiration_date.trim().to_owned();
        let ends = expires_at(&expiration_date).ok_or_else(|| AppError::invalid("expirationDate", "must be MM/YY"))?;
        if ends <= today {
            return Err(AppError::invalid("expirationDate", "the card has expired"));
        }
        if ends > today + Duration::days(366 * 20) {
            return Err(AppError::invalid("expirationDate", "is more than 20 years ahead"));
        }
        Ok(Checked(NewCard { name, card_number, expiration_date }))
    }

    /// The last four digits, all that is kept of the number besides its
    /// keyed fingerprint.
    pub fn last4(&self) -> &str {
        &self.card_number[self.card_number.len().saturating_sub(4)..]
    }
}
