//! Bearer JWTs. The algorithm is pinned by configuration: a token's own
//! `alg` header never chooses it, and `none` never passes.

use crate::auth::Principal;
use crate::domain::Role;
use anyhow::Context;
use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

/// Allowed clock skew, seconds.
pub const LEEWAY_SECS: u64 = 30;

/// Where verification keys come from.
pub enum Keys {
    /// One key (secret or PEM).
    Single(DecodingKey),
    /// A JWKS, by `kid`.
    Set(HashMap<String, DecodingKey>),
}

/// Verifies tokens.
pub struct JwtVerifier {
    keys: Keys,
    validation: Validation,
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    org: Uuid,
    role: String,
    exp: Option<i64>,
    iss: Option<String>,
}

/// JWT settings, as configured.
pub struct JwtConfig<'a> {
    /// HS256 shared secret.
    pub secret: Option<&'a str>,
    /// PEM public key (RS256/ES256).
    pub public_key_pem: Option<&'a str>,
    /// JWKS document.
    pub jwks: Option<&'a str>,
    /// The one accepted algorithm.
    pub algorithm: &'a str,
    /// Required `iss`.
    pub issuer: Option<&'a str>,
    /// Required `aud`.
    pub audience: Option<&'a str>,
}

impl JwtVerifier {
    /// A verifier from configuration; `None` when no key is configured.
    pub fn from_config(c: &JwtConfig<'_>) -> anyhow::Result<Option<Self>> {
        let alg = match c.algorithm {
            "HS256" => Algorithm::HS256,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => anyhow::bail!("JWT_ALGORITHM {other} is not supported (HS256, RS256 or ES256)"),
        };
        let keys = match (c.secret, c.public_key_pem, c.jwks) {
            (None, None, None) => return Ok(None),
            (Some(secret), None, None) => {
                anyhow::ensure!(alg == Algorithm::HS256, "JWT_SECRET goes with JWT_ALGORITHM=HS256");
                anyhow::ensure!(secret.len() >= 32, "JWT_SECRET must be at least 32 bytes");
                Keys::Single(DecodingKey::from_secret(secret.as_bytes()))
            }
            (None, Some(pem), None) => Keys::Single(match alg {
                Algorithm::RS256 => {
                    DecodingKey::from_rsa_pem(pem.as_bytes()).context("JWT public key is not an RSA PEM")?
                }
                Algorithm::ES256 => {
                    DecodingKey::from_ec_pem(pem.as_bytes()).context("JWT public key is not an EC PEM")?
                }
                _ => anyhow::bail!("a public key goes with JWT_ALGORITHM=RS256 or ES256"),
            }),
            (None, None, Some(jwks)) => {
                anyhow::ensure!(alg != Algorithm::HS256, "a JWKS goes with JWT_ALGORITHM=RS256 or ES256");
                let set: JwkSet = serde_json::from_str(jwks).context("JWKS file is not a JWK set")?;
                let mut keys = HashMap::new();
                for jwk in &set.keys {
                    let kid = jwk.common.key_id.clone().context("every JWKS key needs a kid")?;
                    keys.insert(kid, DecodingKey::from_jwk(jwk).context("unusable JWK")?);
                }
                Keys::Set(keys)
            }
            _ => anyhow::bail!("configure one of JWT_SECRET, JWT_PUBLIC_KEY_FILE or JWKS_FILE"),
        };
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(iss) = c.issuer {
            validation.set_issuer(&[iss]);
        }
        match c.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Ok(Some(JwtVerifier { keys, validation }))
    }

    /// The caller a token stands for, or why it does not (in our words:
    /// the library's own text never reaches a client).
    pub fn verify(&self, token: &str) -> Result<Principal, String> {
        let key = match &self.keys {
            Keys::Single(k) => k,
            Keys::Set(set) => {
                let header = decode_header(token).map_err(|_| "malformed token")?;
                let kid = header.kid.ok_or("the token names no key (kid)")?;
                set.get(&kid).ok_or("the token's key is unknown")?
            }
        };
        // `decode` refuses a header `alg` other than the pinned one.
        let data = decode::<Claims>(token, key, &self.validation).map_err(|e| refusal(e.kind()).to_owned())?;
        let c = data.claims;
        let role = Role::from_name(&c.role).ok_or("the token's role is not ADMIN, OPERATOR or VIEWER")?;
        let expires_at = c.exp.and_then(|e| DateTime::<Utc>::from_timestamp(e, 0));
        Ok(Principal { organization_id: c.org, role, subject: c.sub, expires_at, api_key_id: None, issuer: c.iss })
    }
}
/// Why a token is refused, for the client.
fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature => "the token has expired",
        K::ImmatureSignature => "the token is not valid yet (nbf)",
        K::InvalidSignature => "the token's signature does not match",
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::UnsupportedAlgorithm => {
            "the token's algorithm is not the one this gateway accepts"
        }
        K::InvalidAudience => "the token is for another audience",
        K::InvalidIssuer => "the token comes from another issuer",
        K::MissingRequiredClaim(_) | K::InvalidClaimFormat(_) | K::InvalidSubject => {
            "the token lacks a claim this gateway needs, or holds one in another form"
        }
        _ => "malformed token",
    }
}
