//! One account of an import file, read from the JSON shape `export`
//! writes (a JSON Lines row, or a CSV account's rows gathered into it) and
//! checked by the same rules as `createAccount` wherever they apply.

use crate::domain::commands::{BankAccount, Checked, NewAccount, NewAsset, NewWallet};
use crate::domain::money::parse_exact;
use crate::domain::{AccountStatus, AssetStatus, ClientKind, CurrencyType, SystemRole};
use crate::error::{AppError, AppResult};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value;

/// The client that owns an imported account, as the file names it.
#[derive(Clone, Debug)]
pub struct OwnerRef {
    /// The client's external id: how an existing client is found.
    pub external_id: Option<String>,
    /// Name for a client the import creates.
    pub name: String,
    /// Email for a client the import creates.
    pub email: Option<String>,
    /// Person or business.
    pub kind: ClientKind,
}

/// The parent of an imported sub-account: an account earlier in the file
/// (by its number there) or one of the organization's (by external id).
#[derive(Clone, Debug, Default)]
pub struct ParentRef {
    /// The parent's account number in the file.
    pub account_number: Option<String>,
    /// The parent's external id.
    pub external_id: Option<String>,
}

/// An asset with its whole balance and its wallets.
#[derive(Clone, Debug)]
pub struct AssetRecord {
    /// Code, external id, bank, platform, address and credit limit.
    pub asset: Checked<NewAsset>,
    /// Fiat or crypto, for a currency the organization does not have yet.
    pub currency_type: Option<CurrencyType>,
    /// Decimals, for a currency the organization does not have yet.
    pub decimals: Option<i32>,
    /// Active or inactive.
    pub status: AssetStatus,
    /// Available, on hold and future, as the file has them.
    pub balances: [Decimal; 3],
    /// Wallets, and whether each is active.
    pub wallets: Vec<(Checked<NewWallet>, bool)>,
}

/// A client's account or one of the organization's system accounts.
#[derive(Clone, Debug)]
pub enum Holder {
    /// A client account: checked as `createAccount` checks it (assets
    /// apart), its owner and its parent.
    Client { account: Box<Checked<NewAccount>>, owner: OwnerRef, parent: Option<ParentRef> },
    /// A system account: its role and currency (one per organization).
    System { role: SystemRole, currency: Option<String> },
}

/// One account to import.
#[derive(Clone, Debug)]
pub struct Record {
    /// Whose account it is.
    pub holder: Holder,
    /// Its account number in the file, for sub-accounts to refer to.
    pub source_number: Option<String>,
    /// Why its status is what it is.
    pub status_reason: Option<(String, Option<String>)>,
    /// When it was created (now when the file does not say).
    pub created_at: Option<DateTime<Utc>>,
    /// Its assets.
    pub assets: Vec<AssetRecord>,
}

/// The text at `key`, when it is a non-empty string.
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The flag at `key`; `default` when absent.
fn flag(v: &Value, key: &str, default: bool) -> AppResult<bool> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(AppError::invalid(key, "must be true or false")),
    }
}

/// The enum value spelled at `key`, or `default` when absent.
fn named<T>(v: &Value, key: &str, from_name: fn(&str) -> Option<T>, default: Option<T>) -> AppResult<Option<T>> {
    match text(v, key) {
        None => Ok(default),
        Some(s) => from_name(&s.to_uppercase())
            .map(Some)
            .ok_or_else(|| AppError::invalid(key, format!("{s:?} is not a known value"))),
    }
}

/// The decimal at `key`, exactly as written (see `money::parse_exact`): a
/// string, or a whole JSON number (a fraction written as a JSON number has
/// already passed through a binary float); zero when absent.
fn amount(v: &Value, key: &str) -> AppResult<Decimal> {
    let text = match v.get(key) {
        None | Some(Value::Null) => return Ok(Decimal::ZERO),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Decimal::ZERO),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(_) => return Err(AppError::invalid(key, "write amounts as decimal strings such as \"1234.50\"")),
    };
    parse_exact(&text).map_err(|m| AppError::invalid(key, m))
}

fn owner(v: &Value) -> AppResult<Option<OwnerRef>> {
    let Some(o) = v.get("owner").filter(|o| o.is_object()) else { return Ok(None) };
    let external_id = text(o, "externalId");
    let name = text(o, "name").or_else(|| external_id.clone()).unwrap_or_default();
    let kind = named(o, "kind", ClientKind::from_name, Some(ClientKind::Person))?.unwrap_or(ClientKind::Person);
    Ok(Some(OwnerRef { external_id, name, email: text(o, "email"), kind }))
}

fn parent(v: &Value) -> Option<ParentRef> {
    let p = v.get("parent").filter(|p| p.is_object())?;
    let parent = ParentRef { account_number: text(p, "accountNumber"), external_id: text(p, "externalId") };
    (parent.account_number.is_some() || parent.external_id.is_some()).then_some(parent)
}

fn bank_account(v: &Value) -> Option<BankAccount> {
    let b = v.get("custodyBankAccount").filter(|b| b.is_object())?;
    Some(BankAccount {
        account_number: text(b, "accountNumber").unwrap_or_default(),
        bank: text(b, "bank").unwrap_or_default(),
        currency: text(b, "currency").unwrap_or_default(),
        type_account: text(b, "typeAccount"),
        country: text(b, "country"),
    })
}

fn asset(v: &Value) -> AppResult<AssetRecord> {
    let asset = NewAsset {
        currency: text(v, "currency").unwrap_or_default(),
        initial_balance: Decimal::ZERO,
        credit_limit: amount(v, "creditLimit")?,
        address: text(v, "address"),
        external_id: text(v, "externalId"),
        bank: text(v, "bank"),
        platform: text(v, "platform"),
    }
    .check()?;
    let decimals = match v.get("decimals") {
        Some(Value::Number(n)) => n.as_i64().and_then(|d| i32::try_from(d).ok()),
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().parse().ok(),
        _ => None,
    };
    let mut wallets = Vec::new();
    for (i, w) in v.get("wallets").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let cmd = NewWallet {
            network: text(w, "network").unwrap_or_default(),
            address: text(w, "address").unwrap_or_default(),
        };
        let active = flag(w, "active", true).map_err(|e| e.within(&format!("wallets.{i}"), &[]))?;
        wallets.push((cmd.check()?, active));
    }
    Ok(AssetRecord {
        asset,
        currency_type: named(v, "currencyType", CurrencyType::from_name, None)?,
        decimals,
        // As `addAsset`: an asset is not active until someone activates it.
        status: named(v, "status", AssetStatus::from_name, Some(AssetStatus::Inactive))?
            .unwrap_or(AssetStatus::Inactive),
        balances: [amount(v, "available")?, amount(v, "onHold")?, amount(v, "future")?],
        wallets,
    })
}

/// A client account's fields, owner and parent.
fn client(v: &Value, status: AccountStatus) -> AppResult<Holder> {
    let metadata = match v.get("metadata") {
        None | Some(Value::Null) => serde_json::json!({}),
        Some(Value::String(s)) if s.trim().is_empty() => serde_json::json!({}),
        Some(Value::String(s)) => {
            serde_json::from_str(s).map_err(|_| AppError::invalid("metadata", "must be a JSON object"))?
        }
        Some(m) => m.clone(),
    };
    let owner = owner(v)?.ok_or_else(|| AppError::invalid("owner", "a client account needs an owner"))?;
    let account = NewAccount {
        name: text(v, "name").unwrap_or_default(),
        account_type: text(v, "type").unwrap_or_default(),
        owner_external_id: owner.external_id.clone(),
        alias: text(v, "alias"),
        external_id: text(v, "externalId"),
        product_id: text(v, "productId"),
        status,
        allow_sending: flag(v, "allowSending", true)?,
        allow_receiving: flag(v, "allowReceiving", true)?,
        main: flag(v, "main", false)?,
        accounting: flag(v, "accounting", false)?,
        custody: text(v, "custody"),
        custody_bank_account: bank_account(v),
        metadata,
        ..NewAccount::default()
    }
    .check()?;
    Ok(Holder::Client { account: Box::new(account), owner, parent: parent(v) })
}

impl Record {
    /// Reads and checks one account of the export's JSON shape.
    pub fn from_json(v: &Value) -> AppResult<Record> {
        if !v.is_object() {
            return Err(AppError::invalid("row", "must be a JSON object"));
        }
        // As `createAccount`: a row that names no status is PENDING (export
        // always writes it, so a round trip keeps every status).
        let status = named(v, "status", AccountStatus::from_name, Some(AccountStatus::Pending))?
            .unwrap_or(AccountStatus::Pending);
        let holder = match named(v, "systemRole", SystemRole::from_name, None)? {
            Some(role) => Holder::System { role, currency: text(v, "systemCurrency") },
            None => client(v, status)?,
        };
        let assets = (v.get("assets").and_then(Value::as_array).into_iter().flatten().enumerate())
            .map(|(i, a)| asset(a).map_err(|e| e.within(&format!("assets.{i}"), &[])))
            .collect::<AppResult<Vec<_>>>()?;
        let created_at = match text(v, "createdAt") {
            Some(t) => Some(
                DateTime::parse_from_rfc3339(&t)
                    .map_err(|_| AppError::invalid("createdAt", "must be an RFC 3339 time"))?
                    .with_timezone(&Utc),
            ),
            None => None,
        };
        let reason = v.get("statusReason").filter(|r| r.is_object());
        Ok(Record {
            holder,
            source_number: text(v, "accountNumber"),
            status_reason: reason.and_then(|r| text(r, "code").map(|c| (c, text(r, "description")))),
            created_at,
            assets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(extra: Value) -> Value {
        let mut v = json!({"name": "Imported", "type": "PERSONAL", "owner": {"externalId": "cli-1"},
            "assets": [{"currency": "USD", "available": "1.50"}]});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        v
    }

    fn field(r: AppResult<Record>) -> String {
        match r {
            Err(AppError::Validation { details, .. }) => details.first().map(|i| i.field.clone()).unwrap_or_default(),
            Err(other) => format!("{other:?}"),
            Ok(_) => "accepted".into(),
        }
    }

    #[test]
    fn rows_without_a_status_get_create_account_defaults() {
        let Ok(Record { holder: Holder::Client { account, .. }, assets, .. }) = Record::from_json(&row(json!({})))
        else {
            panic!("a row without statuses is read")
        };
        assert_eq!(account.status, AccountStatus::Pending, "as createAccount");
        assert_eq!(assets[0].status, AssetStatus::Inactive, "as addAsset");
        let given = row(json!({"status": "ACTIVE", "assets": [{"currency": "USD", "status": "ACTIVE"}]}));
        let Ok(Record { holder: Holder::Client { account, .. }, assets, .. }) = Record::from_json(&given) else {
            panic!("a row with statuses")
        };
        assert_eq!((account.status, assets[0].status), (AccountStatus::Active, AssetStatus::Active));
    }

    #[test]
    fn amounts_in_files_are_exact_or_refused() {
        for bad in [json!("1_000"), json!("1e3"), json!("+1"), json!("0.00999999999999999999999999999"), json!(0.1)] {
            let r = Record::from_json(&row(json!({"assets": [{"currency": "USD", "available": bad}]})));
            assert_eq!(field(r), "assets.0.available", "{bad}");
        }
        let r = Record::from_json(&row(json!({"assets": [{"currency": "USD", "available": 12}]})));
        assert_eq!(r.map(|r| r.assets[0].balances[0].to_string()).ok(), Some("12".to_owned()), "whole numbers read");
    }
}
