//! Bulk export of an organization's accounts with their assets, wallets and
//! cards (public fields only), as JSON Lines or CSV. Written page by page
//! (500 accounts, in uid order) into a bounded channel, so memory stays
//! constant however many accounts there are and a slow reader slows the
//! export instead of filling memory.

use crate::domain::filter::AccountQuery;
use crate::domain::paging::PageArgs;
use crate::domain::{address, AddressFamily};
use crate::domain::{AccountOrderField, OrderDirection};
use crate::error::{AppError, AppResult};
use crate::service::{accounts, rows};
use entity::{account, account_type, asset, client, currency, network, smart_card, wallet};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};
use std::collections::HashMap;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Accounts per page read and written.
const PAGE: i32 = 500;

/// The two formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One row per account and asset; wallets and cards joined in a cell.
    Csv,
    /// One JSON object per account, assets, wallets and cards nested.
    Jsonl,
}

impl Format {
    /// `csv` or `jsonl` (the file extension and the HTTP parameter).
    pub fn parse(text: &str) -> Option<Format> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Jsonl => "application/jsonl",
        }
    }
}

/// The CSV header.
const CSV_COLUMNS: &[&str] = &[
    "account_uid",
    "account_number",
    "account_external_id",
    "name",
    "alias",
    "type",
    "kind",
    "status",
    "owner_external_id",
    "owner_name",
    "owner_email",
    "parent_external_id",
    "metadata",
    "currency",
    "asset_status",
    "available",
    "on_hold",
    "future",
    "credit_limit",
    "asset_address",
    "asset_external_id",
    "wallets",
    "cards",
    "system_role",
    "system_currency",
    "parent_account_number",
    "owner_kind",
    "currency_type",
    "decimals",
    "status_reason_code",
    "created_at",
];

/// One page's related rows, by the id that links them.
struct Related {
    types: HashMap<Uuid, account_type::Model>,
    owners: HashMap<Uuid, client::Model>,
    parents: HashMap<Uuid, account::Model>,
    assets: HashMap<Uuid, Vec<(asset::Model, currency::Model)>>,
    wallets: HashMap<Uuid, Vec<(wallet::Model, network::Model)>>,
    cards: HashMap<Uuid, Vec<smart_card::Model>>,
}

/// Reads what a page of accounts refers to: six statements per page.
async fn related<C: ConnectionTrait>(db: &C, org: Uuid, rows: &[account::Model]) -> AppResult<Related> {
    let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
    let by_id = |v: Vec<Uuid>| v.into_iter().collect::<std::collections::HashSet<_>>().into_iter();
    let types = account_type::Entity::find()
        .filter(account_type::Column::Id.is_in(by_id(rows.iter().map(|a| a.type_id).collect())))
        .all(db)
        .await?;
    let owners = client::Entity::find()
        .filter(client::Column::Id.is_in(by_id(rows.iter().filter_map(|a| a.owner_id).collect())))
        .all(db)
        .await?;
    let parents = account::Entity::find()
        .filter(account::Column::Id.is_in(by_id(rows.iter().filter_map(|a| a.parent_id).collect())))
        .all(db)
        .await?;
    let assets = asset::Entity::find()
        .filter(asset::Column::OrganizationId.eq(org))
        .filter(asset::Column::AccountId.is_in(ids.clone()))
        .order_by_asc(asset::Column::CreatedAt)
        .find_also_related(currency::Entity)
        .all(db)
        .await?;
    let asset_ids: Vec<Uuid> = assets.iter().map(|(a, _)| a.id).collect();
    let wallets = wallet::Entity::find()
        .filter(wallet::Column::AssetId.is_in(asset_ids))
        .order_by_asc(wallet::Column::CreatedAt)
        .find_also_related(network::Entity)
        .all(db)
        .await?;
    let cards = smart_card::Entity::find()
        .filter(smart_card::Column::AccountId.is_in(ids))
        .order_by_asc(smart_card::Column::CreatedAt)
        .all(db)
        .await?;
    let mut out = Related {
        types: types.into_iter().map(|t| (t.id, t)).collect(),
        owners: owners.into_iter().map(|c| (c.id, c)).collect(),
        parents: parents.into_iter().map(|p| (p.id, p)).collect(),
        assets: HashMap::new(),
        wallets: HashMap::new(),
        cards: HashMap::new(),
    };
    for (a, c) in assets {
        let c = c.ok_or_else(|| AppError::internal("an asset without its currency"))?;
        out.assets.entry(a.account_id).or_default().push((a, c));
    }
    for (w, n) in wallets {
        let n = n.ok_or_else(|| AppError::internal("a wallet without its network"))?;
        out.wallets.entry(w.asset_id).or_default().push((w, n));
    }
    for c in cards {
        out.cards.entry(c.account_id).or_default().push(c);
    }
    Ok(out)
}

/// An account as one JSON object.
fn account_json(a: &account::Model, r: &Related) -> Value {
    let owner = a
        .owner_id
        .and_then(|id| r.owners.get(&id))
        .map(|c| json!({"externalId": c.external_id, "name": c.name, "email": c.email, "kind": c.kind}));
    let parent = a.parent_id.and_then(|id| r.parents.get(&id));
    let reason =
        (a.status_reason_code.as_ref()).map(|code| json!({"code": code, "description": a.status_reason_description}));
    let assets: Vec<Value> = (r.assets.get(&a.id).into_iter().flatten())
        .map(|(s, c)| {
            let wallets: Vec<Value> = (r.wallets.get(&s.id).into_iter().flatten())
                .map(|(w, n)| {
                    // As the API shows it (EVM with its checksum); import reads either form.
                    let family = AddressFamily::from_name(&n.address_family).unwrap_or(AddressFamily::Unchecked);
                    json!({"network": n.code, "address": address::display(family, &w.address), "active": w.active})
                })
                .collect();
            json!({
                "currency": c.code, "status": s.status,
                "available": s.available.0.to_string(), "onHold": s.on_hold.0.to_string(),
                "future": s.future.0.to_string(), "creditLimit": s.credit_limit.0.to_string(),
                "address": s.address, "externalId": s.external_id, "bank": s.bank, "platform": s.platform,
                "currencyType": c.currency_type, "decimals": c.decimals, "wallets": wallets,
            })
        })
        .collect();
    let cards: Vec<Value> = (r.cards.get(&a.id).into_iter().flatten())
        .map(|c| json!({"name": c.name, "last4": c.last4, "expirationDate": c.expiration_date, "active": c.active}))
        .collect();
    json!({
        "uid": a.uid, "accountNumber": a.account_number, "externalId": a.external_id, "name": a.name,
        "alias": a.alias, "type": r.types.get(&a.type_id).map(|t| t.code.clone()), "kind": a.kind,
        "systemRole": a.system_role, "systemCurrency": a.system_key.as_deref().and_then(rows::system_key_currency),
        "status": a.status, "statusReason": reason, "owner": owner,
        "parent": parent.map(|p| json!({"externalId": p.external_id, "accountNumber": p.account_number})),
        "productId": a.product_id, "allowSending": a.allow_sending, "allowReceiving": a.allow_receiving,
        "main": a.main, "accounting": a.accounting, "custody": a.custody,
        "custodyBankAccount": a.custody_bank_account, "metadata": a.metadata,
        "createdAt": a.created_at, "assets": assets, "cards": cards,
    })
}

/// A CSV cell: a would-be formula neutralized (`domain::spreadsheet`),
/// quoted when it holds a comma, a quote or a line break.
fn cell(text: &str) -> String {
    let text = crate::domain::spreadsheet::neutralize(text);
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.into_owned()
    }
}

/// The CSV text of a JSON value: strings as they are, null as empty.
fn text_of(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// An account's CSV rows: one per asset (one without asset columns when
/// it has none); cards on its first row.
fn csv_rows(account: &Value, out: &mut Vec<u8>) {
    let f = |k: &str| text_of(&account[k]);
    let owner = |k: &str| text_of(&account["owner"][k]);
    let cards: Vec<String> = (account["cards"].as_array().into_iter().flatten())
        .map(|c| format!("{} {} {}", text_of(&c["last4"]), text_of(&c["expirationDate"]), text_of(&c["active"])))
        .collect();
    let empty = Value::Null;
    let assets: Vec<&Value> = account["assets"].as_array().map(|v| v.iter().collect()).unwrap_or_default();
    let assets = if assets.is_empty() { vec![&empty] } else { assets };
    for (i, s) in assets.into_iter().enumerate() {
        let wallets: Vec<String> = (s["wallets"].as_array().into_iter().flatten())
            .map(|w| format!("{}:{}", text_of(&w["network"]), text_of(&w["address"])))
            .collect();
        let row = [
            f("uid"),
            f("accountNumber"),
            f("externalId"),
            f("name"),
            f("alias"),
            f("type"),
            f("kind"),
            f("status"),
            owner("externalId"),
            owner("name"),
            owner("email"),
            text_of(&account["parent"]["externalId"]),
            account["metadata"].to_string(),
            text_of(&s["currency"]),
            text_of(&s["status"]),
            text_of(&s["available"]),
            text_of(&s["onHold"]),
            text_of(&s["future"]),
            text_of(&s["creditLimit"]),
            text_of(&s["address"]),
            text_of(&s["externalId"]),
            wallets.join(";"),
            if i == 0 { cards.join(";") } else { String::new() },
            f("systemRole"),
            f("systemCurrency"),
            text_of(&account["parent"]["accountNumber"]),
            owner("kind"),
            text_of(&s["currencyType"]),
            text_of(&s["decimals"]),
            text_of(&account["statusReason"]["code"]),
            f("createdAt"),
        ];
        let line: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.extend_from_slice(line.join(",").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes `org`'s accounts matching `query` in `format` into `out`, one
/// chunk per page; returns how many accounts it wrote. Stops early, without
/// an error, when the reader goes away. `progress` hears, after each page,
/// how many accounts are written and how many there are.
pub async fn export<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    query: &AccountQuery,
    format: Format,
    out: mpsc::Sender<Vec<u8>>,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> AppResult<u64> {
    if format == Format::Csv {
        let header = format!("{}\r\n", CSV_COLUMNS.join(","));
        if out.send(header.into_bytes()).await.is_err() {
            return Ok(0);
        }
    }
    let order = (AccountOrderField::Uid, OrderDirection::Asc);
    let (mut after, mut written, mut total) = (None, 0u64, 0u64);
    loop {
        let first_page = after.is_none();
        let args = PageArgs { first: Some(PAGE), after: after.take(), ..Default::default() };
        let list = accounts::ListAccounts { org, query, order, args: &args, with_total: first_page };
        let page = accounts::list(db, list).await?;
        total = page.total.unwrap_or(total);
        let rows: Vec<account::Model> = page.rows.iter().map(|(_, m)| m.clone()).collect();
        let related = related(db, org, &rows).await?;
        let mut chunk = Vec::with_capacity(rows.len() * 512);
        for a in &rows {
            let value = account_json(a, &related);
            match format {
                Format::Jsonl => {
                    chunk.extend_from_slice(value.to_string().as_bytes());
                    chunk.push(b'\n');
                }
                Format::Csv => csv_rows(&value, &mut chunk),
            }
        }
        written += rows.len() as u64;
        if !chunk.is_empty() && out.send(chunk).await.is_err() {
            return Ok(written);
        }
        progress(written, total);
        match page.rows.last() {
            Some((cursor, _)) if page.has_next => after = Some(cursor.encode()),
            _ => return Ok(written),
        }
    }
}
