//! Account commands: create, change, and the reason of a status change.

use super::{item, Checked, NewAsset, Patch};
use crate::domain::validate;
use crate::domain::AccountStatus;
use crate::error::{AppError, AppResult};
use uuid::Uuid;

/// The account type code of system accounts; clients may not use it.
pub const SYSTEM_TYPE: &str = "SYSTEM";

/// A client account to create (`createAccount`, an import row, a seed).
/// Its default is the input's: pending, allowed to send and receive,
/// nothing optional set.
#[derive(Clone, Debug)]
pub struct NewAccount {
    /// 1 to 100 characters.
    pub name: String,
    /// An account type code of the organization (`type`).
    pub account_type: String,
    /// The owning client, by id (`ownerId`) ...
    pub owner_id: Option<Uuid>,
    /// ... or by external id (`ownerExternalId`).
    pub owner_external_id: Option<String>,
    /// Handle, unique per organization.
    pub alias: Option<String>,
    /// The integrator's reference, unique per organization.
    pub external_id: Option<String>,
    /// Makes this a sub-account.
    pub parent_id: Option<Uuid>,
    /// Project.
    pub project_id: Option<Uuid>,
    /// Product reference.
    pub product_id: Option<String>,
    /// The wallet account (seed 004): an account of the organization.
    pub wallet_account_id: Option<Uuid>,
    /// Initial status; never DELETED.
    pub status: AccountStatus,
    /// Whether the account may send.
    pub allow_sending: bool,
    /// Whether the account may receive.
    pub allow_receiving: bool,
    /// The owner's main account.
    pub main: bool,
    /// Used in accounting.
    pub accounting: bool,
    /// Custody type.
    pub custody: Option<String>,
    /// The bank account that holds custodied funds.
    pub custody_bank_account: Option<BankAccount>,
    /// String, number and boolean values by key (an empty object for none).
    pub metadata: serde_json::Value,
    /// Assets created with the account.
    pub assets: Vec<NewAsset>,
    /// A retried create with the same key and input returns the first
    /// account; the same key with another input is CONFLICT.
    pub idempotency_key: Option<String>,
}

impl Default for NewAccount {
    fn default() -> Self {
        NewAccount {
            name: String::new(),
            account_type: String::new(),
            owner_id: None,
            owner_external_id: None,
            alias: None,
            external_id: None,
            parent_id: None,
            project_id: None,
            product_id: None,
            wallet_account_id: None,
            status: AccountStatus::Pending,
            allow_sending: true,
            allow_receiving: true,
            main: false,
            accounting: false,
            custody: None,
            custody_bank_account: None,
            metadata: serde_json::json!({}),
            assets: Vec::new(),
            idempotency_key: None,
        }
    }
}

/// A client account type code: upper-cased, and not the reserved SYSTEM.
fn client_type(field: &str, code: &str) -> AppResult<String> {
    let code = validate::code(field, code, 50)?;
    if code == SYSTEM_TYPE {
        return Err(AppError::invalid(field, "the SYSTEM type is reserved for system accounts"));
    }
    Ok(code)
}

impl NewAccount {
    /// Checks every field that needs no database.
    pub fn check(self) -> AppResult<Checked<Self>> {
        let name = validate::text("name", &self.name, 100)?;
        let alias = validate::handle("alias", self.alias.as_deref())?;
        let external_id = validate::handle("externalId", self.external_id.as_deref())?;
        let product_id = validate::optional("productId", self.product_id.as_deref(), 100)?;
        let custody = validate::optional("custody", self.custody.as_deref(), 100)?;
        let custody_bank_account = match self.custody_bank_account {
            Some(b) => Some(b.checked().map_err(|e| e.within("custodyBankAccount", &[]))?),
            None => None,
        };
        let metadata = validate::metadata("metadata", Some(self.metadata))?;
        if self.status == AccountStatus::Deleted {
            return Err(AppError::invalid("status", "an account cannot be created deleted"));
        }
        let account_type = client_type("type", &self.account_type)?;
        let idempotency_key = validate::optional("idempotencyKey", self.idempotency_key.as_deref(), 200)?;
        let assets = (self.assets.into_iter().enumerate())
            .map(|(i, a)| item("assets", i, a.check().map(|c| c.0)))
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Checked(NewAccount {
            name,
            account_type,
            alias,
            external_id,
            product_id,
            custody,
            custody_bank_account,
            metadata,
            assets,
            idempotency_key,
            ..self
        }))
    }
}

/// Changes to an account (`updateAccount`); the owner never changes.
#[derive(Clone, Debug, Default)]
pub struct AccountChanges {
    /// New name.
    pub name: Option<String>,
    /// New alias, or cleared.
    pub alias: Patch<String>,
    /// New type code.
    pub account_type: Option<String>,
    /// New external id, or cleared.
    pub external_id: Patch<String>,
    /// New product, or cleared.
    pub product_id: Patch<String>,
    /// New wallet account, or cleared.
    pub wallet_account_id: Patch<Uuid>,
    /// Whether the account may send.
    pub allow_sending: Option<bool>,
    /// Whether the account may receive.
    pub allow_receiving: Option<bool>,
    /// Make (or stop making) this the owner's main account.
    pub main: Option<bool>,
    /// New custody bank account, or removed.
    pub custody_bank_account: Patch<BankAccount>,
    /// Replaces the metadata object.
    pub metadata: Option<serde_json::Value>,
}

impl AccountChanges {
    /// Checks every field that needs no database; a blank optional value
    /// clears the field.
    pub fn check(self) -> AppResult<Checked<Self>> {
        let name = self.name.map(|n| validate::text("name", &n, 100)).transpose()?;
        let alias = self.alias.check(|a| validate::handle("alias", Some(&a)))?;
        let external_id = self.external_id.check(|e| validate::handle("externalId", Some(&e)))?;
        let product_id = self.product_id.check(|p| validate::optional("productId", Some(&p), 100))?;
        let account_type = self.account_type.map(|t| client_type("type", &t)).transpose()?;
        let custody_bank_account = (self.custody_bank_account)
            .check(|b| b.checked().map(Some).map_err(|e| e.within("custodyBankAccount", &[])))?;
        let metadata = self.metadata.map(|m| validate::metadata("metadata", Some(m))).transpose()?;
        Ok(Checked(AccountChanges {
            name,
            alias,
            account_type,
            external_id,
            product_id,
            custody_bank_account,
            metadata,
            ..self
        }))
    }
}

/// The bank account that holds a custodied account's funds.
#[derive(Clone, Debug)]
pub struct BankAccount {
    /// The bank's account number (IBAN or local), 1 to 50 characters.
    pub account_number: String,
    /// The bank, 1 to 100 characters.
    pub bank: String,
    /// A currency code the organization knows (checked by the service).
    pub currency: String,
    /// Checking, savings, ... (up to 50 characters).
    pub type_account: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
}

impl BankAccount {
    fn checked(self) -> AppResult<Self> {
        let country = match self.country.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => Some(c.to_ascii_uppercase()),
            Some(_) => return Err(AppError::invalid("country", "must be an ISO 3166-1 alpha-2 code, like DE")),
        };
        Ok(BankAccount {
            account_number: validate::text("accountNumber", &self.account_number, 50)?,
            bank: validate::text("bank", &self.bank, 100)?,
            currency: validate::code("currency", &self.currency, 10)?,
            type_account: validate::optional("typeAccount", self.type_account.as_deref(), 50)?,
            country,
        })
    }

    /// The stored form (the contract's `BankAccount` fields).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "accountNumber": self.account_number,
            "bank": self.bank,
            "currency": self.currency,
            "typeAccount": self.type_account,
            "country": self.country,
        })
    }
}

/// Why a status is set (an account's status, a card's deactivation).
#[derive(Clone, Debug, Default)]
pub struct StatusReason {
    /// Short code such as AML, up to 50 characters.
    pub code: Option<String>,
    /// Free text, up to 500 characters.
    pub description: Option<String>,
}

impl StatusReason {
    /// Checks both fields; blank ones become absent.
    pub fn check(self) -> AppResult<Checked<Self>> {
        Ok(Checked(StatusReason {
            code: validate::optional("code", self.code.as_deref(), 50)?,
            description: validate::optional("description", self.description.as_deref(), 500)?,
        }))
    }

    /// Whether any part is given.
    pub fn is_given(&self) -> bool {
        self.code.is_some() || self.description.is_some()
    }
}
