//! Who is calling. Every request carries a [`Principal`] made from its
//! credential (a Bearer JWT or an `x-api-key`); every service call is scoped
//! by its organization and checked against its role.

pub mod failures;
pub mod jwt;
pub mod key_cache;
pub mod rate_limit;
pub mod revocations;

use crate::domain::Role;
use crate::error::{AppError, AppResult};
use crate::service::api_keys;
use chrono::{DateTime, Utc};
use jwt::JwtVerifier;
use key_cache::KeyCache;
use sea_orm::DatabaseConnection;
use std::net::IpAddr;
use std::sync::Arc;
use uuid::Uuid;

/// The authenticated caller of one request.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The tenant whose rows the caller sees.
    pub organization_id: Uuid,
    /// What the caller may do.
    pub role: Role,
    /// The token's subject or the API key's name; recorded as the audit actor.
    pub subject: String,
    /// When the credential stops being valid (a JWT's `exp`).
    pub expires_at: Option<DateTime<Utc>>,
    /// The API key presented, so that its revocation can close the
    /// caller's open sockets.
    pub api_key_id: Option<Uuid>,
    /// The JWT's issuer (`iss`), which with its subject names the caller.
    pub issuer: Option<String>,
}

impl Principal {
    /// Refuses callers below `role` (VIEWER < OPERATOR < ADMIN).
    pub fn require(&self, role: Role) -> AppResult<()> {
        let rank = |r: Role| match r {
            Role::Viewer => 0,
            Role::Operator => 1,
            Role::Admin => 2,
        };
        if rank(self.role) >= rank(role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this needs the {} role", role.as_str())))
        }
    }

    /// The credential's identity, for rate limits and socket counts: an
    /// API key's id (two keys named alike are two callers), a JWT's issuer
    /// and subject.
    pub fn limit_key(&self) -> String {
        match self.api_key_id {
            Some(id) => format!("{}/key:{id}", self.organization_id),
            None => format!("{}/{}|{}", self.organization_id, self.issuer.as_deref().unwrap_or(""), self.subject),
        }
    }
}

/// The credential a request presented.
#[derive(Clone, Debug, Default)]
pub struct Credential {
    /// `Authorization: Bearer <token>`.
    pub bearer: Option<String>,
    /// `x-api-key`.
    pub api_key: Option<String>,
}

impl Credential {
    /// Reads `Authorization` and `x-api-key` values (headers or a WebSocket
    /// `connection_init` payload).
    pub fn from_parts(authorization: Option<&str>, api_key: Option<&str>) -> Self {
        let bearer = authorization.and_then(|a| {
            let (scheme, token) = a.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
        });
        Credential { bearer, api_key: api_key.map(|k| k.trim().to_owned()) }
    }

    /// True when nothing was presented.
    pub fn is_empty(&self) -> bool {
        self.bearer.is_none() && self.api_key.is_none()
    }
}

/// Turns credentials into principals.
#[derive(Clone)]
pub struct Authenticator {
    jwt: Option<Arc<JwtVerifier>>,
    db: DatabaseConnection,
    /// Keys checked a moment ago (PostgreSQL only; see [`key_cache`]).
    keys: Option<KeyCache>,
    /// `--dev`: the caller without a credential (loopback only).
    anonymous: Option<Principal>,
    /// Failed attempts per address, unknown and recently good keys.
    failures: failures::Failures,
}

impl Authenticator {
    /// An authenticator over API keys in `db`, JWTs when configured, and an
    /// anonymous caller in dev mode.
    pub fn new(db: DatabaseConnection, jwt: Option<JwtVerifier>, anonymous: Option<Principal>) -> Self {
        Authenticator {
            jwt: jwt.map(Arc::new),
            db,
            keys: None,
            anonymous,
            failures: failures::Failures::new(0, 1, None),
        }
    }

    /// Limits failed attempts per client address as `failures` says.
    pub fn with_failure_limit(mut self, failures: failures::Failures) -> Self {
        self.failures = failures;
        self
    }

    /// Answers keys from `cache` while it is trusted.
    pub fn with_key_cache(mut self, cache: KeyCache) -> Self {
        self.keys = Some(cache);
        self
    }

    /// The principal of an API key, from the caches when they may answer;
    /// from a `blocked` address only a key that was good a moment ago is
    /// looked up.
    async fn api_key(&self, key: &str, blocked: bool) -> AppResult<Principal> {
        let unknown = || AppError::Unauthenticated("the API key is unknown or revoked".into());
        if !api_keys::well_formed(key) {
            return Err(unknown());
        }
        let key_hash = api_keys::hash(key);
        if let Some(known) = self.keys.as_ref().and_then(|cache| cache.get(&key_hash)) {
            return Ok(known);
        }
        if self.failures.is_miss(&key_hash) {
            return Err(unknown());
        }
        if blocked && !self.failures.was_good(&key_hash) {
            return Err(self.too_many_failures());
        }
        let start = self.keys.as_ref().map(KeyCache::read_start);
        let Some(principal) = api_keys::by_hash(&self.db, &key_hash).await? else {
            self.failures.miss(&key_hash);
            return Err(unknown());
        };
        self.failures.good(&key_hash);
        if let (Some(cache), Some(start)) = (&self.keys, start) {
            cache.remember(key_hash, principal.clone(), start);
        }
        Ok(principal)
    }

    fn too_many_failures(&self) -> AppError {
        AppError::LimitExceeded(format!(
            "too many failed authentications from this address; retry in {} s",
            self.failures.retry_after_secs()
        ))
    }

    /// The client address of a request (see [`failures::Failures::client`]).
    pub fn client(&self, headers: &axum::http::HeaderMap, peer: Option<std::net::SocketAddr>) -> Option<IpAddr> {
        self.failures.client(headers, peer)
    }

    /// Seconds a refused address should wait (its `Retry-After`).
    pub fn retry_after_secs(&self) -> u64 {
        self.failures.retry_after_secs()
    }

    /// The principal of `cred` presented from `address`, or
    /// UNAUTHENTICATED; LIMIT_EXCEEDED (HTTP 429) once the address has
    /// failed too often.
    pub async fn authenticate(&self, cred: &Credential, address: Option<IpAddr>) -> AppResult<Principal> {
        let blocked = self.failures.blocked(address);
        let result = self.check(cred, blocked).await;
        if matches!(result, Err(AppError::Unauthenticated(_))) {
            self.failures.failed(address);
        }
        result
    }

    async fn check(&self, cred: &Credential, blocked: bool) -> AppResult<Principal> {
        if let Some(key) = &cred.api_key {
            return self.api_key(key, blocked).await;
        }
        if let Some(token) = &cred.bearer {
            // A bearer that looks like an API key is one (some clients only send Authorization).
            if token.starts_with(api_keys::PREFIX) {
                return self.api_key(token, blocked).await;
            }
            let verifier = self
                .jwt
                .as_ref()
                .ok_or_else(|| AppError::Unauthenticated("bearer tokens are not configured".into()))?;
            return verifier.verify(token).map_err(AppError::Unauthenticated);
        }
        self.anonymous.clone().ok_or_else(|| {
            AppError::Unauthenticated("send a credential: `Authorization: Bearer <JWT>` or `x-api-key: <key>`".into())
        })
    }
}
