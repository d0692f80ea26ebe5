//! The contract's mutation inputs, as the schema receives them. Services
//! check every field (see [`crate::domain::validate`]) before writing.

use crate::domain::money::Dec;
use crate::domain::{AccountStatus, ClientKind, CurrencyType};
use async_graphql::{InputObject, Json, MaybeUndefined};
use uuid::Uuid;

/// A new account.
#[derive(InputObject, Clone, Debug)]
pub struct CreateAccountInput {
    /// 1 to 100 characters.
    pub name: String,
    /// An account type code of the organization.
    #[graphql(name = "type")]
    pub account_type: String,
    /// The owning client (or `ownerExternalId`); required for CLIENT accounts.
    pub owner_id: Option<Uuid>,
    /// The owning client's external id.
    pub owner_external_id: Option<String>,
    /// Optional handle, unique per organization.
    pub alias: Option<String>,
    /// The integrator's reference, unique per organization.
    pub external_id: Option<String>,
    /// Makes this a sub-account; the parent must share the owner.
    pub parent_id: Option<Uuid>,
    /// Project.
    pub project_id: Option<Uuid>,
    /// Product reference.
    pub product_id: Option<String>,
    /// New accounts are not active unless asked.
    #[graphql(default_with = "Some(AccountStatus::Pending)")]
    pub status: Option<AccountStatus>,
    /// Whether the account may send.
    #[graphql(default_with = "Some(true)")]
    pub allow_sending: Option<bool>,
    /// Whether the account may receive.
    #[graphql(default_with = "Some(true)")]
    pub allow_receiving: Option<bool>,
    /// The owner's main account.
    #[graphql(default_with = "Some(false)")]
    pub main: Option<bool>,
    /// Used in accounting (true) or circulation (false).
    #[graphql(default_with = "Some(false)")]
    pub accounting: Option<bool>,
    /// Custody type.
    pub custody: Option<String>,
    /// The bank account that holds a custodied account's funds.
    pub custody_bank_account: Option<BankAccountInput>,
    /// String/number/boolean values by key.
    pub metadata: Option<Json<serde_json::Value>>,
    /// Optional assets created with the account, in the same transaction.
    pub assets: Option<Vec<AddAssetInput>>,
}

/// Changes to an account; absent fields stay, `null` clears optional ones.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateAccountInput {
    /// New name.
    pub name: Option<String>,
    /// New alias; null clears it.
    pub alias: MaybeUndefined<String>,
    /// New type code.
    #[graphql(name = "type")]
    pub account_type: Option<String>,
    /// New external id; null clears it.
    pub external_id: MaybeUndefined<String>,
    /// New product; null clears it.
    pub product_id: MaybeUndefined<String>,
    /// Whether the account may send.
    pub allow_sending: Option<bool>,
    /// Whether the account may receive.
    pub allow_receiving: Option<bool>,
    /// The owner's main account: making one main takes the flag from the
    /// owner's previous main account.
    pub main: Option<bool>,
    /// The custody bank account; null removes it.
    pub custody_bank_account: MaybeUndefined<BankAccountInput>,
    /// Replaces the whole metadata object.
    pub metadata: Option<Json<serde_json::Value>>,
}

/// The bank account that holds a custodied account's funds.
#[derive(InputObject, Clone, Debug)]
pub struct BankAccountInput {
    /// The bank's account number (IBAN or local), 1 to 50 characters.
    pub account_number: String,
    /// The bank, 1 to 100 characters.
    pub bank: String,
    /// A currency code the organization knows.
    pub currency: String,
    /// Checking, savings, ... (up to 50 characters).
    pub type_account: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: Option<String>,
}

/// Why a status is set.
#[derive(InputObject, Clone, Debug, Default)]
pub struct StatusReasonInput {
    /// Short code such as AML or other.
    pub code: Option<String>,
    /// Free text.
    pub description: Option<String>,
}

impl StatusReasonInput {
    /// The reason's code (up to 50 characters) and description (up to
    /// 500), checked; both `None` without a reason.
    pub fn checked(reason: Option<&Self>) -> crate::error::AppResult<(Option<String>, Option<String>)> {
        use crate::domain::validate::optional;
        let code = optional("reason.code", reason.and_then(|r| r.code.as_deref()), 50)?;
        let description = optional("reason.description", reason.and_then(|r| r.description.as_deref()), 500)?;
        Ok((code, description))
    }
}

/// A new asset of an account.
#[derive(InputObject, Clone, Debug)]
pub struct AddAssetInput {
    /// Currency code.
    pub currency: String,
    /// Lands in `available`.
    #[graphql(default_with = "Some(Dec::default())")]
    pub initial_balance: Option<Dec>,
    /// Credit line.
    #[graphql(default_with = "Some(Dec::default())")]
    pub credit_limit: Option<Dec>,
    /// IBAN for fiat (validated), or blank with a bank integration.
    pub address: Option<String>,
    /// The integrator's reference.
    pub external_id: Option<String>,
    /// Bank.
    pub bank: Option<String>,
    /// Third-party platform.
    pub platform: Option<String>,
}

/// Balance deltas, applied exactly once per idempotency key.
#[derive(InputObject, Clone, Debug)]
pub struct BalanceAdjustmentInput {
    /// Replays with the same key return the first result.
    pub idempotency_key: String,
    /// Delta of available.
    #[graphql(default_with = "Some(Dec::default())")]
    pub available: Option<Dec>,
    /// Delta of on hold.
    #[graphql(default_with = "Some(Dec::default())")]
    pub on_hold: Option<Dec>,
    /// Delta of future.
    #[graphql(default_with = "Some(Dec::default())")]
    pub future: Option<Dec>,
    /// Why, for the audit trail.
    pub reason: Option<String>,
}

/// A new wallet.
#[derive(InputObject, Clone, Debug)]
pub struct AddWalletInput {
    /// Network code.
    pub network: String,
    /// Address on that network.
    pub address: String,
}

/// A card to issue.
#[derive(InputObject, Clone, Debug)]
pub struct IssueSmartCardInput {
    /// Name on the card.
    pub name: String,
    /// Validated (Luhn), then only last4 and a keyed fingerprint are kept.
    pub card_number: String,
    /// MM/YY.
    pub expiration_date: String,
}

/// A new client.
#[derive(InputObject, Clone, Debug)]
pub struct CreateClientInput {
    /// Full or company name.
    pub name: String,
    /// Contact email.
    pub email: Option<String>,
    /// The integrator's reference, unique per organization.
    pub external_id: Option<String>,
    /// Person or business.
    #[graphql(default_with = "Some(ClientKind::Person)")]
    pub kind: Option<ClientKind>,
}

/// Changes to a client; null clears optional fields.
#[derive(InputObject, Clone, Debug, Default)]
pub struct UpdateClientInput {
    /// New name.
    pub name: Option<String>,
    /// New email; null clears it.
    pub email: MaybeUndefined<String>,
    /// New external id; null clears it.
    pub external_id: MaybeUndefined<String>,
}

/// A new account type.
#[derive(InputObject, Clone, Debug)]
pub struct AccountTypeInput {
    /// Code such as SAVINGS.
    pub code: String,
    /// Display name.
    pub name: String,
    /// FIAT or CRYPTO where the type is bound to one.
    pub category: Option<CurrencyType>,
}

/// A new currency.
#[derive(InputObject, Clone, Debug)]
pub struct CurrencyInput {
    /// ISO 4217 code or ticker.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Symbol.
    pub symbol: String,
    /// FIAT or CRYPTO.
    #[graphql(name = "type")]
    pub currency_type: CurrencyType,
    /// Decimal places, 0 to 18.
    pub decimals: i32,
    /// Codes of networks it lives on.
    pub networks: Option<Vec<String>>,
}

/// A new network.
#[derive(InputObject, Clone, Debug)]
pub struct NetworkInput {
    /// Code such as ethereum.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Regular expression addresses must match (for networks of no known family).
    pub address_pattern: Option<String>,
}
