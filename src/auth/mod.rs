//! Who is calling. Every request carries a [`Principal`]; every service call
//! is scoped by its organization.

use crate::domain::Role;
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
}
