//! One builder per table row: the only places a whole row is spelled out,
//! shared by the mutations and the seeder. Adding a column means adding it
//! here once.

use crate::auth::Principal;
use crate::domain::account_number::account_number;
use crate::domain::commands::{
    Checked, NewAccount, NewAccountType, NewCard, NewClient, NewCurrency, NewNetwork, NewTransfer,
};
use crate::domain::{AccountKind, AccountStatus, AddressFamily, AssetStatus, BalanceCause, SystemRole};
use chrono::{DateTime, Utc};
use entity::{
    account, account_type, asset, balance_entry, client, currency, idempotency_record, network, project, smart_card,
    transfer, wallet, Amount,
};
use rust_decimal::Decimal;
use sea_orm::Set;
use uuid::Uuid;

/// A new account row with every column set: live, top-level, with
/// nothing optional, stamped `at` (system accounts are `accounting`).
/// Callers set what differs.
pub fn account(
    org: Uuid,
    uid: i64,
    name: String,
    type_id: Uuid,
    kind: AccountKind,
    status: AccountStatus,
    at: DateTime<Utc>,
) -> account::ActiveModel {
    account::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        uid: Set(uid),
        account_number: Set(account_number(uid)),
        name: Set(name),
        alias: Set(None),
        type_id: Set(type_id),
        kind: Set(kind.as_str().into()),
        system_role: Set(None),
        system_key: Set(None),
        status: Set(status.as_str().into()),
        status_reason_code: Set(None),
        status_reason_description: Set(None),
        status_changed_at: Set(at),
        external_id: Set(None),
        project_id: Set(None),
        owner_id: Set(None),
        parent_id: Set(None),
        depth: Set(0),
        product_id: Set(None),
        wallet_account_id: Set(None),
        allow_sending: Set(true),
        allow_receiving: Set(true),
        main: Set(false),
        accounting: Set(kind == AccountKind::System),
        custody: Set(None),
        custody_bank_account: Set(None),
        metadata: Set(serde_json::json!({})),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    }
}

/// What a new client account refers to, as found in the database.
pub struct AccountRefs {
    /// Its account type.
    pub type_id: Uuid,
    /// Its owner.
    pub owner_id: Uuid,
    /// Its parent and the parent's depth, for a sub-account.
    pub parent: Option<(Uuid, i32)>,
    /// The custody bank account as stored.
    pub custody_bank_account: Option<serde_json::Value>,
}

/// The row of a new client account.
pub fn client_account(
    org: Uuid,
    uid: i64,
    cmd: &Checked<NewAccount>,
    refs: AccountRefs,
    at: DateTime<Utc>,
) -> account::ActiveModel {
    let mut row = account(org, uid, cmd.name.clone(), refs.type_id, AccountKind::Client, cmd.status, at);
    row.alias = Set(cmd.alias.clone());
    row.external_id = Set(cmd.external_id.clone());
    row.project_id = Set(cmd.project_id);
    row.owner_id = Set(Some(refs.owner_id));
    row.parent_id = Set(refs.parent.map(|(id, _)| id));
    row.depth = Set(refs.parent.map_or(0, |(_, depth)| depth + 1));
    row.product_id = Set(cmd.product_id.clone());
    row.wallet_account_id = Set(cmd.wallet_account_id);
    row.allow_sending = Set(cmd.allow_sending);
    row.allow_receiving = Set(cmd.allow_receiving);
    row.main = Set(cmd.main);
    row.accounting = Set(cmd.accounting);
    row.custody = Set(cmd.custody.clone());
    row.custody_bank_account = Set(refs.custody_bank_account);
    row.metadata = Set(cmd.metadata.clone());
    row
}

/// The key that makes a system account unique: its role and currency.
pub fn system_key(role: SystemRole, currency: Option<&str>) -> String {
    format!("{}:{}", role.as_str(), currency.unwrap_or(""))
}

/// The currency of a system key, when it names one.
pub fn system_key_currency(key: &str) -> Option<&str> {
    key.split_once(':').map(|(_, c)| c).filter(|c| !c.is_empty())
}

/// The row of the organization's active system account of `role` (and
/// `currency`), named after them.
pub fn system_account(
    org: Uuid,
    uid: i64,
    type_id: Uuid,
    role: SystemRole,
    currency: Option<&str>,
    at: DateTime<Utc>,
) -> account::ActiveModel {
    let name = match currency {
        Some(c) => format!("{} {c}", role.as_str()),
        None => role.as_str().to_owned(),
    };
    let mut row = account(org, uid, name, type_id, AccountKind::System, AccountStatus::Active, at);
    row.system_role = Set(Some(role.as_str().into()));
    row.system_key = Set(Some(system_key(role, currency)));
    row
}

/// A zero-balance asset row, stamped `at`.
pub fn asset(
    org: Uuid,
    account_id: Uuid,
    currency_id: Uuid,
    status: AssetStatus,
    at: DateTime<Utc>,
) -> asset::ActiveModel {
    asset::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        account_id: Set(account_id),
        currency_id: Set(currency_id),
        status: Set(status.as_str().into()),
        available: Set(Amount(Decimal::ZERO)),
        on_hold: Set(Amount(Decimal::ZERO)),
        future: Set(Amount(Decimal::ZERO)),
        credit_limit: Set(Amount(Decimal::ZERO)),
        address: Set(None),
        external_id: Set(None),
        bank: Set(None),
        platform: Set(None),
        version: Set(1),
        history_starts_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// The journal's first row of an asset written in bulk: its whole
/// balance (available, on hold, future) as one change at `at`.
pub fn opening_entry(
    asset: &asset::ActiveModel,
    balances: [Decimal; 3],
    actor: &str,
    cause: BalanceCause,
) -> balance_entry::ActiveModel {
    let [available, on_hold, future] = balances.map(Amount);
    balance_entry::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: asset.organization_id.clone(),
        asset_id: asset.id.clone(),
        at: asset.created_at.clone(),
        actor: Set(actor.to_owned()),
        cause: Set(cause.as_str().to_owned()),
        idempotency_key: Set(None),
        delta_available: Set(available),
        delta_on_hold: Set(on_hold),
        delta_future: Set(future),
        available: Set(available),
        on_hold: Set(on_hold),
        future: Set(future),
        credit_limit: asset.credit_limit.clone(),
        transfer_id: Set(None),
    }
}

/// A new client's row.
pub fn client(org: Uuid, cmd: &Checked<NewClient>, at: DateTime<Utc>) -> client::ActiveModel {
    client::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        external_id: Set(cmd.external_id.clone()),
        name: Set(cmd.name.clone()),
        email: Set(cmd.email.clone()),
        kind: Set(cmd.kind.as_str().into()),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

/// An active wallet's row.
pub fn wallet(org: Uuid, asset_id: Uuid, network_id: Uuid, address: String, at: DateTime<Utc>) -> wallet::ActiveModel {
    wallet::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        asset_id: Set(asset_id),
        network_id: Set(network_id),
        address: Set(address),
        active: Set(true),
        created_at: Set(at),
    }
}

/// An active card's row: of the number, only last4 and `fingerprint`.
pub fn card(
    org: Uuid,
    account_id: Uuid,
    cmd: &NewCard,
    fingerprint: String,
    at: DateTime<Utc>,
) -> smart_card::ActiveModel {
    smart_card::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        account_id: Set(account_id),
        name: Set(cmd.name.clone()),
        last4: Set(cmd.last4().to_owned()),
        fingerprint: Set(fingerprint),
        expiration_date: Set(cmd.expiration_date.clone()),
        active: Set(true),
        created_at: Set(at),
        deactivation_reason_code: Set(None),
        deactivation_reason_description: Set(None),
        deactivated_at: Set(None),
    }
}

/// An account type's row.
pub fn account_type(org: Uuid, cmd: &Checked<NewAccountType>, at: DateTime<Utc>) -> account_type::ActiveModel {
    account_type::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        code: Set(cmd.code.clone()),
        name: Set(cmd.name.clone()),
        category: Set(cmd.category.map(|c| c.as_str().to_owned())),
        created_at: Set(at),
    }
}

/// A currency's row (its networks are links of their own).
pub fn currency(org: Uuid, cmd: &Checked<NewCurrency>, at: DateTime<Utc>) -> currency::ActiveModel {
    currency::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        code: Set(cmd.code.clone()),
        name: Set(cmd.name.clone()),
        symbol: Set(cmd.symbol.clone()),
        currency_type: Set(cmd.currency_type.as_str().into()),
        decimals: Set(cmd.decimals),
        created_at: Set(at),
    }
}

/// A network's row.
pub fn network(org: Uuid, cmd: &Checked<NewNetwork>, at: DateTime<Utc>) -> network::ActiveModel {
    network::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        code: Set(cmd.code.clone()),
        name: Set(cmd.name.clone()),
        address_pattern: Set(cmd.address_pattern.clone()),
        created_at: Set(at),
        address_family: Set(cmd.address_family.unwrap_or(AddressFamily::Unchecked).as_str().to_owned()),
    }
}

/// A project's row.
pub fn project(org: Uuid, name: String, at: DateTime<Utc>) -> project::ActiveModel {
    project::ActiveModel { id: Set(Uuid::now_v7()), organization_id: Set(org), name: Set(name), created_at: Set(at) }
}

/// A transfer's row: `cmd` as checked, between `from` and `to` (as they
/// stood before it), stamped `at`.
pub fn transfer(
    who: &Principal,
    id: Uuid,
    cmd: &NewTransfer,
    request_hash: String,
    (from, to): (&asset::Model, &asset::Model),
    fee_asset_id: Option<Uuid>,
    at: DateTime<Utc>,
) -> transfer::ActiveModel {
    transfer::ActiveModel {
        id: Set(id),
        organization_id: Set(who.organization_id),
        idempotency_key: Set(cmd.idempotency_key.clone()),
        request_hash: Set(request_hash),
        from_asset_id: Set(from.id),
        to_asset_id: Set(to.id),
        from_account_id: Set(from.account_id),
        to_account_id: Set(to.account_id),
        currency_id: Set(from.currency_id),
        amount: Set(Amount(cmd.amount)),
        fee: Set(Amount(cmd.fee.unwrap_or_default())),
        fee_asset_id: Set(fee_asset_id),
        reason: Set(cmd.reason.clone()),
        metadata: Set(cmd.metadata.clone()),
        actor: Set(who.subject.clone()),
        at: Set(at),
    }
}

/// The record of a keyed mutation's first answer, filed under `key`.
pub fn idempotency_record(
    org: Uuid,
    key: &str,
    scope: String,
    request_hash: String,
    response: serde_json::Value,
    at: DateTime<Utc>,
) -> idempotency_record::ActiveModel {
    idempotency_record::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org),
        key: Set(key.to_owned()),
        scope: Set(scope),
        request_hash: Set(request_hash),
        response: Set(response),
        created_at: Set(at),
    }
}
