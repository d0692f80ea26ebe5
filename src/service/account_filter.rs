//! Turns an [`AccountFilter`] into one SQL condition. Relations (owner,
//! type, currency, wallet address) become sub-selects, so a filtered page is
//! still a single statement.

use crate::domain::filter::{metadata_pairs, AccountFilter, MetaValue};
use crate::error::{AppError, AppResult};
use entity::{account, account_type, asset, client, currency, wallet};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, DbBackend, Value};
use uuid::Uuid;

/// Escapes LIKE wildcards so user text matches literally.
fn like_prefix(text: &str) -> LikeExpr {
    let mut escaped = String::with_capacity(text.len() + 1);
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped.push('%');
    LikeExpr::new(escaped).escape('\\')
}

fn lower_like(col: account::Column, text: &str) -> Expr {
    Expr::expr(Func::lower(Expr::col((account::Entity, col)))).like(like_prefix(text))
}

/// `SELECT id FROM clients WHERE organization_id = org AND <cond>`.
fn clients_where(org: Uuid, cond: Expr) -> SelectStatement {
    Query::select()
        .column(client::Column::Id)
        .from(client::Entity)
        .and_where(client::Column::OrganizationId.eq(org))
        .and_where(cond)
        .to_owned()
}

/// `SELECT account_id FROM assets WHERE organization_id = org AND <cond>`.
fn assets_where(org: Uuid, cond: Expr) -> SelectStatement {
    Query::select()
        .column(asset::Column::AccountId)
        .from(asset::Entity)
        .and_where(asset::Column::OrganizationId.eq(org))
        .and_where(cond)
        .to_owned()
}

fn metadata_condition(backend: DbBackend, meta: &serde_json::Value) -> AppResult<Condition> {
    let pairs = metadata_pairs(meta).map_err(|m| AppError::invalid("filter.metadata", m))?;
    let mut cond = Condition::all();
    if backend == DbBackend::Postgres {
        // One containment test uses the GIN-able jsonb operator and keeps
        // value types exact (1 is not "1").
        cond = cond.add(Expr::cust_with_values("\"accounts\".\"metadata\" @> $1::jsonb", [meta.to_string()]));
        return Ok(cond);
    }
    for (key, value) in pairs {
        let path = format!("$.\"{key}\"");
        let extract = |f: &str| {
            Func::cust(f.to_owned()).arg(Expr::col((account::Entity, account::Column::Metadata))).arg(path.clone())
        };
        cond = cond.add(match value {
            MetaValue::Text(s) => {
                Expr::expr(extract("json_type")).eq("text").and(Expr::expr(extract("json_extract")).eq(s))
            }
            MetaValue::Bool(b) => Expr::expr(extract("json_type")).eq(if b { "true" } else { "false" }),
            MetaValue::Number(n) => {
                let v: Value = match n.as_i64() {
                    Some(i) => i.into(),
                    None => n.as_f64().unwrap_or(f64::NAN).into(),
                };
                Expr::expr(extract("json_type"))
                    .is_in(["integer", "real"])
                    .and(Expr::expr(extract("json_extract")).eq(v))
            }
        });
    }
    Ok(cond)
}

/// The condition for `filter` within `org`.
pub fn condition(org: Uuid, f: &AccountFilter, backend: DbBackend) -> AppResult<Condition> {
    use account::Column as A;
    let mut c = Condition::all().add(A::OrganizationId.eq(org));
    if !f.include_deleted.unwrap_or(false) {
        c = c.add(A::DeletedAt.is_null());
    }
    if let Some(text) = f.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let mut any = Condition::any()
            .add(lower_like(A::Name, text))
            .add(lower_like(A::AccountNumber, text))
            .add(lower_like(A::Alias, text))
            .add(lower_like(A::ExternalId, text));
        if let Ok(id) = Uuid::parse_str(text) {
            any = any.add(A::Id.eq(id));
        }
        if let Ok(uid) = text.parse::<i64>() {
            any = any.add(A::Uid.eq(uid));
        }
        c = c.add(any);
    }
    if let Some(idf) = &f.id {
        if let Some(eq) = idf.eq {
            c = c.add(A::Id.eq(eq));
        }
        if let Some(list) = &idf.in_ {
            c = c.add(A::Id.is_in(list.iter().copied()));
        }
    }
    if let Some(ext) = &f.external_id {
        if let Some(eq) = &ext.eq {
            c = c.add(A::ExternalId.eq(eq.clone()));
        }
        if let Some(list) = &ext.in_ {
            c = c.add(A::ExternalId.is_in(list.iter().cloned()));
        }
    }
    if let Some(codes) = &f.account_type {
        let types = Query::select()
            .column(account_type::Column::Id)
            .from(account_type::Entity)
            .and_where(account_type::Column::OrganizationId.eq(org))
            .and_where(account_type::Column::Code.is_in(codes.iter().cloned()))
            .to_owned();
        c = c.add(A::TypeId.in_subquery(types));
    }
    if let Some(statuses) = &f.status {
        c = c.add(A::Status.is_in(statuses.iter().map(|s| s.as_str())));
    }
    if let Some(kind) = f.kind {
        c = c.add(A::Kind.eq(kind.as_str()));
    }
    if let Some(owner) = f.owner_id {
        c = c.add(A::OwnerId.eq(owner));
    }
    if let Some(email) = &f.owner_email {
        let cond =
            Expr::expr(Func::lower(Expr::col((client::Entity, client::Column::Email)))).eq(email.trim().to_lowercase());
        c = c.add(A::OwnerId.in_subquery(clients_where(org, cond)));
    }
    if let Some(ext) = &f.owner_external_id {
        c = c.add(A::OwnerId.in_subquery(clients_where(org, client::Column::ExternalId.eq(ext.clone()))));
    }
    if let Some(parent) = f.parent_id {
        c = c.add(A::ParentId.eq(parent));
    }
    if let Some(sub) = f.is_sub_account {
        c = c.add(if sub { A::ParentId.is_not_null() } else { A::ParentId.is_null() });
    }
    if let Some(project) = f.project_id {
        c = c.add(A::ProjectId.eq(project));
    }
    if let Some(codes) = &f.currency {
        let currencies = Query::select()
            .column(currency::Column::Id)
            .from(currency::Entity)
            .and_where(currency::Column::OrganizationId.eq(org))
            .and_where(currency::Column::Code.is_in(codes.iter().map(|c| c.to_uppercase())))
            .to_owned();
        c = c.add(A::Id.in_subquery(assets_where(org, asset::Column::CurrencyId.in_subquery(currencies))));
    }
    if let Some(addresses) = &f.address {
        let wallets = Query::select()
            .column(wallet::Column::AssetId)
            .from(wallet::Entity)
            .and_where(wallet::Column::OrganizationId.eq(org))
            .and_where(wallet::Column::Address.is_in(addresses.iter().cloned()))
            .to_owned();
        c = c.add(A::Id.in_subquery(assets_where(org, asset::Column::Id.in_subquery(wallets))));
    }
    if let Some(number) = &f.account_number {
        c = c.add(A::AccountNumber.eq(number.clone()));
    }
    if let Some(from) = f.created_from {
        c = c.add(A::CreatedAt.gte(from));
    }
    if let Some(to) = f.created_to {
        c = c.add(A::CreatedAt.lte(to));
    }
    if let Some(meta) = &f.metadata {
        c = c.add(metadata_condition(backend, &meta.0)?);
    }
    Ok(c)
}
