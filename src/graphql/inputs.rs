//! The contract's mutation inputs, as the schema receives them, and their
//! conversion into domain commands: the one place a mutation's argument
//! names meet the domain. Field checks happen on the command (`check`);
//! [`input_error`] places their errors under the argument they came from.

use crate::domain::commands::{
    AccountChanges, BalanceAdjustment, BankAccount, Checked, ClientChanges, NewAccount, NewAccountType, NewAsset,
    NewCard, NewClient, NewCurrency, NewNetwork, NewWallet, Patch, StatusReason,
};
use crate::domain::money::Dec;
use crate::domain::{AccountStatus, AddressFamily, ClientKind, CurrencyType};
use crate::error::{AppError, AppResult};
use async_graphql::{InputObject, Json, MaybeUndefined};
use uuid::Uuid;

/// Places an error on a command from the `input` argument under `input.`;
/// `own` are the mutation's other arguments, which keep their names.
pub fn input_error(own: &'static [&'static str]) -> impl Fn(AppError) -> AppError {
    move |e| e.within("input", own)
}

/// The checked reason of a status change, from the `reason` argument.
pub fn reason_command(reason: Option<StatusReasonInput>) -> AppResult<Checked<StatusReason>> {
    let reason = reason.map(StatusReason::from).unwrap_or_default();
    reason.check().map_err(|e| e.within("reason", &[]))
}

fn patch<T, U>(v: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> Patch<U> {
    match v {
        MaybeUndefined::Undefined => Patch::Keep,
        MaybeUndefined::Null => Patch::Clear,
        MaybeUndefined::Value(v) => Patch::Set(f(v)),
    }
}

fn dec(v: Option<Dec>) -> rust_decimal::Decimal {
    v.unwrap_or_default().0
}

impl From<CreateAccountInput> for NewAccount {
    fn from(i: CreateAccountInput) -> Self {
        NewAccount {
            name: i.name,
            account_type: i.account_type,
            owner_id: i.owner_id,
            owner_external_id: i.owner_external_id,
            alias: i.alias,
            external_id: i.external_id,
            parent_id: i.parent_id,
            project_id: i.project_id,
            product_id: i.product_id,
            wallet_account_id: i.wallet_account_id,
            status: i.status.unwrap_or(AccountStatus::Pending),
            allow_sending: i.allow_sending.unwrap_or(true),
            allow_receiving: i.allow_receiving.unwrap_or(true),
            main: i.main.unwrap_or(false),
            accounting: i.accounting.unwrap_or(false),
            custody: i.custody,
            custody_bank_account: i.custody_bank_account.map(BankAccount::from),
            metadata: i.metadata.map_or_else(|| serde_json::json!({}), |j| j.0),
            assets: i.assets.into_iter().flatten().map(NewAsset::from).collect(),
            idempotency_key: i.idempotency_key,
        }
    }
}

impl From<UpdateAccountInput> for AccountChanges {
    fn from(i: UpdateAccountInput) -> Self {
        AccountChanges {
            name: i.name,
            alias: patch(i.alias, |v| v),
            account_type: i.account_type,
            external_id: patch(i.external_id, |v| v),
            product_id: patch(i.product_id, |v| v),
            wallet_account_id: patch(i.wallet_account_id, |v| v),
            allow_sending: i.allow_sending,
            allow_receiving: i.allow_receiving,
            main: i.main,
            custody_bank_account: patch(i.custody_bank_account, BankAccount::from),
            metadata: i.metadata.map(|j| j.0),
        }
    }
}

impl From<BankAccountInput> for BankAccount {
    fn from(i: BankAccountInput) -> Self {
        let BankAccountInput { account_number, bank, currency, type_account, country } = i;
        BankAccount { account_number, bank, currency, type_account, country }
    }
}

impl From<StatusReasonInput> for StatusReason {
    fn from(i: StatusReasonInput) -> Self {
        StatusReason { code: i.code, description: i.description }
    }
}

impl From<AddAssetInput> for NewAsset {
    fn from(i: AddAssetInput) -> Self {
        NewAsset {
            currency: i.currency,
            initial_balance: dec(i.initial_balance),
            credit_limit: dec(i.credit_limit),
            address: i.address,
            external_id: i.external_id,
            bank: i.bank,
            platform: i.platform,
        }
    }
}

impl From<BalanceAdjustmentInput> for BalanceAdjustment {
    fn from(i: BalanceAdjustmentInput) -> Self {
        BalanceAdjustment {
            idempotency_key: i.idempotency_key,
            available: dec(i.available),
            on_hold: dec(i.on_hold),
            future: dec(i.future),
            reason: i.reason,
        }
    }
}

impl From<AddWalletInput> for NewWallet {
    fn from(i: AddWalletInput) -> Self {
        NewWallet { network: i.network, address: i.address }
    }
}

impl From<IssueSmartCardInput> for NewCard {
    fn from(i: IssueSmartCardInput) -> Self {
        NewCard { name: i.name, card_number: i.card_number, expiration_date: i.expiration_date }
    }
}

impl From<CreateClientInput> for NewClient {
    fn from(i: CreateClientInput) -> Self {
        NewClient {
            name: i.name,
            email: i.email,
            external_id: i.external_id,
            kind: i.kind.unwrap_or(ClientKind::Person),
        }
    }
}

impl From<UpdateClientInput> for ClientChanges {
    fn from(i: UpdateClientInput) -> Self {
        ClientChanges { name: i.name, email: patch(i.email, |v| v), external_id: patch(i.external_id, |v| v) }
    }
}

impl From<AccountTypeInput> for NewAccountType {
    fn from(i: AccountTypeInput) -> Self {
        NewAccountType { code: i.code, name: i.name, category: i.category }
    }
}

impl From<CurrencyInput> for NewCurrency {
    fn from(i: CurrencyInput) -> Self {
        NewCurrency {
            code: i.code,
            name: i.name,
            symbol: i.symbol,
            currency_type: i.currency_type,
            decimals: i.decimals,
            networks: i.networks.unwrap_or_default(),
        }
    }
}

impl From<NetworkInput> for NewNetwork {
    fn from(i: NetworkInput) -> Self {
        NewNetwork { code: i.code, name: i.name, address_pattern: i.address_pattern, address_family: i.address_family }
    }
}

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
    /// Seed 004's wallet account reference: an account of the same
    /// organization (NOT_FOUND when it names none).
    pub wallet_account_id: Option<Uuid>,
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
    /// A retried create with the same key and the same input returns the
    /// account the first one made; the same key with another input is
    /// CONFLICT.
    pub idempotency_key: Option<String>,
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
    /// New wallet account (an account of the organization, NOT_FOUND
    /// otherwise); null clears it.
    pub wallet_account_id: MaybeUndefined<Uuid>,
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
    /// Regular expression the whole address must match (family PATTERN).
    pub address_pattern: Option<String>,
    /// How addresses are checked. When not given: the family the code
    /// conventionally names (`ethereum` is EVM), else PATTERN when a pattern
    /// is given, else UNCHECKED.
    pub address_family: Option<AddressFamily>,
}
