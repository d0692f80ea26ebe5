//! API keys: random secrets with a recognisable prefix, shown once and
//! stored only as a SHA-256 hash.

use crate::auth::Principal;
use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::service::{now, organizations};

use entity::{api_key, organization};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Every key starts with this, so secret scanners can recognise leaked ones.
pub const PREFIX: &str = "agk_";

/// SHA-256 of a key, hex: what the database keeps.
pub fn hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new key: the prefix and 32 random bytes in hex.
fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{PREFIX}{}", hex::encode(bytes))
}

/// Creates a key for `org_name` (creating the organization when missing);
/// returns the row and the key itself, which is never stored.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    org_name: &str,
    role: Role,
    name: &str,
) -> AppResult<(api_key::Model, String)> {
    let org = organizations::ensure(db, org_name).await?;
    let name = crate::domain::validate::text("name", name, 100)?;
    // A key's name is what the audit trail shows: it names one key of the
    // organization, ever (a revoked key's name included).
    let taken = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(org.id))
        .filter(api_key::Column::Name.eq(name.as_str()))
        .count(db)
        .await?;
    if taken > 0 {
        return Err(AppError::conflict("name", format!("organization {org_name} already has a key named {name:?}")));
    }
    let key = generate();
    let row = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        name: Set(name),
        role: Set(role.as_str().into()),
        prefix: Set(key[..PREFIX.len() + 8].to_owned()),
        key_hash: Set(hash(&key)),
        created_at: Set(now()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok((row, key))
}

/// Keys (of one organization when named), oldest first, with their organization.
pub async fn list<C: ConnectionTrait>(db: &C, org_name: Option<&str>) -> AppResult<Vec<(api_key::Model, String)>> {
    let orgs = organization::Entity::find().all(db).await?;
    let mut q = api_key::Entity::find().order_by_asc(api_key::Column::CreatedAt);
    if let Some(name) = org_name {
        let org = orgs.iter().find(|o| o.name == name).ok_or_else(|| AppError::missing("org", "organization"))?;
        q = q.filter(api_key::Column::OrganizationId.eq(org.id));
    }
    let rows = q.all(db).await?;
    Ok(rows
        .into_iter()
        .map(|k| {
            let org = orgs.iter().find(|o| o.id == k.organization_id).map(|o| o.name.clone()).unwrap_or_default();
            (k, org)
        })
        .collect())
}

/// Revokes the key with this id or visible prefix; it stops working at once.
pub async fn revoke<C: ConnectionTrait>(db: &C, id_or_prefix: &str) -> AppResult<api_key::Model> {
    let cond = match Uuid::parse_str(id_or_prefix) {
        Ok(id) => api_key::Column::Id.eq(id),
        Err(_) => api_key::Column::Prefix.eq(id_or_prefix),
    };
    let found = api_key::Entity::find().filter(cond).all(db).await?;
    let key = match found.as_slice() {
        [one] => one.clone(),
        [] => return Err(AppError::missing("key", "API key")),
        _ => return Err(AppError::invalid("key", "several keys share this prefix; give the id")),
    };
    let mut m = key.into_active_model();
    m.revoked_at = Set(Some(now()));
    Ok(m.update(db).await?)
}

/// Which of `ids` are keys that exist and are not revoked (per 1,000 ids
/// a statement).
pub async fn valid_among<C: ConnectionTrait>(db: &C, ids: &[Uuid]) -> AppResult<std::collections::HashSet<Uuid>> {
    let mut valid = std::collections::HashSet::new();
    for chunk in ids.chunks(1000) {
        let rows = api_key::Entity::find()
            .filter(api_key::Column::Id.is_in(chunk.iter().copied()))
            .filter(api_key::Column::RevokedAt.is_null())
            .all(db)
            .await?;
        valid.extend(rows.into_iter().map(|k| k.id));
    }
    Ok(valid)
}

/// Whether `key` has the shape of one of our keys (anything else is
/// refused without a lookup).
pub fn well_formed(key: &str) -> bool {
    key.starts_with(PREFIX) && key.len() <= 200
}

/// The caller of the key whose [`hash`] is `key_hash`, or `None` for an
/// unknown or revoked key.
pub async fn by_hash<C: ConnectionTrait>(db: &C, key_hash: &str) -> AppResult<Option<Principal>> {
    let found = api_key::Entity::find().filter(api_key::Column::KeyHash.eq(key_hash)).one(db).await?;
    match found {
        Some(k) if k.revoked_at.is_none() => Ok(Some(Principal {
            organization_id: k.organization_id,
            role: Role::parse(&k.role)?,
            subject: format!("key:{}", k.name),
            expires_at: None,
            api_key_id: Some(k.id),
            issuer: None,
        })),
        _ => Ok(None),
    }
}
