//! Turns an [`AccountQuery`] into one SQL condition. Relations (owner,
//! type, currency, wallet address) become sub-selects, so a filtered page is
//! still a single statement.

use crate::domain::address;
use crate::domain::filter::{metadata_pairs, AccountCondition, AccountQuery, MetaValue};
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
    let pairs = metadata_pairs(meta).map_err(|m| AppError::invalid("metadata", m))?;
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

/// Accounts matching a condition on their own columns, or `None` for a
/// condition on related rows.
fn on_account(cond: &AccountCondition) -> Option<Condition> {
    use account::Column as A;
    use AccountCondition as C;
    let c = Condition::all();
    Some(match cond {
        C::Search(text) => {
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
            any
        }
        C::Ids(ids) => c.add(A::Id.is_in(ids.iter().copied())),
        C::ExternalIds(ids) => c.add(A::ExternalId.is_in(ids.iter().cloned())),
        C::Statuses(statuses) => c.add(A::Status.is_in(statuses.iter().map(|s| s.as_str()))),
        C::Kind(kind) => c.add(A::Kind.eq(kind.as_str())),
        C::OwnerId(owner) => c.add(A::OwnerId.eq(*owner)),
        C::ParentId(parent) => c.add(A::ParentId.eq(*parent)),
        C::IsSubAccount(true) => c.add(A::ParentId.is_not_null()),
        C::IsSubAccount(false) => c.add(A::ParentId.is_null()),
        C::ProjectId(project) => c.add(A::ProjectId.eq(*project)),
        C::AccountNumber(number) => c.add(A::AccountNumber.eq(number.clone())),
        C::CreatedFrom(from) => c.add(A::CreatedAt.gte(*from)),
        C::CreatedTo(to) => c.add(A::CreatedAt.lte(*to)),
        _ => return None,
    })
}

/// Accounts matching a condition on related rows (type, owner, assets,
/// wallets), as a sub-select; metadata by the backend's JSON functions.
fn on_related(org: Uuid, cond: &AccountCondition, backend: DbBackend) -> AppResult<Condition> {
    use account::Column as A;
    use AccountCondition as C;
    let c = Condition::all();
    Ok(match cond {
        C::Types(codes) => {
            let types = Query::select()
                .column(account_type::Column::Id)
                .from(account_type::Entity)
                .and_where(account_type::Column::OrganizationId.eq(org))
                .and_where(account_type::Column::Code.is_in(codes.iter().cloned()))
                .to_owned();
            c.add(A::TypeId.in_subquery(types))
        }
        C::OwnerEmail(email) => {
            let cond = Expr::expr(Func::lower(Expr::col((client::Entity, client::Column::Email)))).eq(email.clone());
            c.add(A::OwnerId.in_subquery(clients_where(org, cond)))
        }
        C::OwnerExternalId(ext) => {
            c.add(A::OwnerId.in_subquery(clients_where(org, client::Column::ExternalId.eq(ext.clone()))))
        }
        C::Currencies(codes) => {
            let currencies = Query::select()
                .column(currency::Column::Id)
                .from(currency::Entity)
                .and_where(currency::Column::OrganizationId.eq(org))
                .and_where(currency::Column::Code.is_in(codes.iter().cloned()))
                .to_owned();
            c.add(A::Id.in_subquery(assets_where(org, asset::Column::CurrencyId.in_subquery(currencies))))
        }
        C::Addresses(addresses) => {
            let wallets = Query::select()
                .column(wallet::Column::AssetId)
                .from(wallet::Entity)
                .and_where(wallet::Column::OrganizationId.eq(org))
                .and_where(
                    wallet::Column::Address.is_in(addresses.iter().flat_map(|a| [a.clone(), address::lookup_form(a)])),
                )
                .to_owned();
            c.add(A::Id.in_subquery(assets_where(org, asset::Column::Id.in_subquery(wallets))))
        }
        C::Metadata(meta) => metadata_condition(backend, meta)?,
        other => on_account(other).unwrap_or(c),
    })
}

/// The condition for `query` within `org`.
pub fn condition(org: Uuid, query: &AccountQuery, backend: DbBackend) -> AppResult<Condition> {
    let mut c = Condition::all().add(account::Column::OrganizationId.eq(org));
    if !query.include_deleted {
        c = c.add(account::Column::DeletedAt.is_null());
    }
    for cond in &query.conditions {
        c = c.add(match on_account(cond) {
            Some(own) => own,
            None => on_related(org, cond, backend)?,
        });
    }
    Ok(c)
}
