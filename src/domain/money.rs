//! The `Decimal` scalar: exact amounts as strings on the wire, both ways.
//!
//! async-graphql's built-in decimal scalar also accepts JSON numbers, which
//! clients build from binary floats (0.1 + 0.2 ...). A money API refuses
//! them: input must be a string such as "1234.50".

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use rust_decimal::Decimal;
use std::str::FromStr;

/// An exact decimal amount, written as a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dec(pub Decimal);

#[Scalar(name = "Decimal")]
impl ScalarType for Dec {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => {
                let t = s.trim();
                if t.is_empty() || t.contains(['e', 'E']) {
                    return Err(InputValueError::custom("write amounts as plain decimal strings such as \"1234.50\""));
                }
                Decimal::from_str(t)
                    .map(Dec)
                    .map_err(|_| InputValueError::custom("not a decimal amount, or more than 28 significant digits"))
            }
            _ => Err(InputValueError::custom("amounts are strings such as \"1234.50\", never numbers")),
        }
    }

    fn is_valid(value: &Value) -> bool {
        matches!(value, Value::String(_))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

impl From<Decimal> for Dec {
    fn from(d: Decimal) -> Self {
        Dec(d)
    }
}
