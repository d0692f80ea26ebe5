//! Client commands.

use super::{Checked, Patch};
use crate::domain::validate;
use crate::domain::ClientKind;
use crate::error::AppResult;

/// A new client.
#[derive(Clone, Debug)]
pub struct NewClient {
    /// Full or company name, 1 to 200 characters.
    pub name: String,
    /// Contact email.
    pub email: Option<String>,
    /// The integrator's reference, unique per organization.
    pub external_id: Option<String>,
    /// Person or business.
    pub kind: ClientKind,
}

impl NewClient {
    /// Checks every field; the email is lower-cased.
    pub fn check(self) -> AppResult<Checked<Self>> {
        Ok(Checked(NewClient {
            name: validate::text("name", &self.name, 200)?,
            email: validate::email("email", self.email.as_deref())?,
            external_id: validate::handle("externalId", self.external_id.as_deref())?,
            kind: self.kind,
        }))
    }
}

/// Changes to a client.
#[derive(Clone, Debug, Default)]
pub struct ClientChanges {
    /// New name.
    pub name: Option<String>,
    /// New email, or cleared.
    pub email: Patch<String>,
    /// New external id, or cleared.
    pub external_id: Patch<String>,
}

impl ClientChanges {
    /// Checks every field; a blank optional value clears the field.
    pub fn check(self) -> AppResult<Checked<Self>> {
        Ok(Checked(ClientChanges {
            name: self.name.map(|n| validate::text("name", &n, 200)).transpose()?,
            email: self.email.check(|e| validate::email("email", Some(&e)))?,
            external_id: self.external_id.check(|e| validate::handle("externalId", Some(&e)))?,
        }))
    }
}
