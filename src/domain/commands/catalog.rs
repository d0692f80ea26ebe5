//! Configuration commands: account types, currencies, networks.

use super::Checked;
use crate::domain::{address, validate, AddressFamily, CurrencyType};
use crate::error::{AppError, AppResult};

/// A new account type.
#[derive(Clone, Debug)]
pub struct NewAccountType {
    /// Code such as SAVINGS.
    pub code: String,
    /// Display name.
    pub name: String,
    /// FIAT or CRYPTO where the type is bound to one.
    pub category: Option<CurrencyType>,
}

impl NewAccountType {
    /// Checks the code and the name.
    pub fn check(self) -> AppResult<Checked<Self>> {
        Ok(Checked(NewAccountType {
            code: validate::code("code", &self.code, 50)?,
            name: validate::text("name", &self.name, 100)?,
            category: self.category,
        }))
    }
}

/// A new currency.
#[derive(Clone, Debug)]
pub struct NewCurrency {
    /// ISO 4217 code or ticker.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Symbol.
    pub symbol: String,
    /// FIAT or CRYPTO.
    pub currency_type: CurrencyType,
    /// Decimal places, 0 to 18.
    pub decimals: i32,
    /// Codes of the networks it lives on (looked up by the service).
    pub networks: Vec<String>,
}

impl NewCurrency {
    /// Checks every field; network codes are lower-cased.
    pub fn check(self) -> AppResult<Checked<Self>> {
        let code = validate::code("code", &self.code, 10)?;
        let name = validate::text("name", &self.name, 100)?;
        let symbol = validate::text("symbol", &self.symbol, 10)?;
        if !(0..=18).contains(&self.decimals) {
            return Err(AppError::invalid("decimals", "must be 0 to 18"));
        }
        let networks = self.networks.iter().map(|n| n.trim().to_lowercase()).collect();
        Ok(Checked(NewCurrency { code, name, symbol, networks, ..self }))
    }
}

/// A new network.
#[derive(Clone, Debug)]
pub struct NewNetwork {
    /// Code such as ethereum.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Regular expression the whole address must match (family PATTERN).
    pub address_pattern: Option<String>,
    /// How addresses are checked. When not given: the family the code
    /// conventionally names (`ethereum` is EVM), else PATTERN with a
    /// pattern, else UNCHECKED. Always set once checked.
    pub address_family: Option<AddressFamily>,
}

impl NewNetwork {
    /// Checks the code, the name, that the pattern compiles, and settles
    /// the address family.
    pub fn check(self) -> AppResult<Checked<Self>> {
        let code = self.code.trim().to_lowercase();
        if code.is_empty()
            || code.len() > 50
            || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(AppError::invalid("code", "must be 1 to 50 letters, digits, - or _"));
        }
        let name = validate::text("name", &self.name, 100)?;
        let address_pattern = validate::optional("addressPattern", self.address_pattern.as_deref(), 500)?;
        if let Some(p) = &address_pattern {
            regex::Regex::new(p)
                .map_err(|_| AppError::invalid("addressPattern", "is not a valid regular expression"))?;
        }
        let family = self
            .address_family
            .or_else(|| address::family_of_code(&code))
            .unwrap_or(if address_pattern.is_some() { AddressFamily::Pattern } else { AddressFamily::Unchecked });
        if family == AddressFamily::Pattern && address_pattern.is_none() {
            return Err(AppError::invalid("addressPattern", "a network of family PATTERN needs a pattern"));
        }
        Ok(Checked(NewNetwork { code, name, address_pattern, address_family: Some(family) }))
    }
}
