//! `Amount`: an exact decimal column that survives both backends.
//!
//! PostgreSQL stores money as `NUMERIC` and sqlx decodes it to
//! `rust_decimal::Decimal` exactly. SQLite has no decimal type: SeaORM's own
//! `Decimal` decoding goes through `f64` there, which silently loses cents on
//! large or 18-decimal amounts. So on SQLite the migration declares the
//! column `TEXT` and this type reads the text back. Writes bind a
//! `Value::Decimal`, which sea-query already sends as text to SQLite and as
//! `NUMERIC` to PostgreSQL.

use rust_decimal::Decimal;
use sea_orm::sea_query::{ArrayType, ColumnType, Value, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, QueryResult, TryGetError, TryGetable};
use std::str::FromStr;

/// An exact decimal amount as stored in a money column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub Decimal);

impl From<Amount> for Value {
    fn from(a: Amount) -> Self {
        Value::Decimal(Some(a.0))
    }
}

impl From<Decimal> for Amount {
    fn from(d: Decimal) -> Self {
        Amount(d)
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Money is a string on every wire, never a float.
        s.serialize_str(&self.0.to_string())
    }
}

impl TryGetable for Amount {
    fn try_get_by<I: ColIdx>(res: &QueryResult, idx: I) -> Result<Self, TryGetError> {
        // SQLite: the text we wrote. PostgreSQL: NUMERIC refuses to decode
        // as a string, so fall through to the exact decimal decoder.
        match String::try_get_by(res, idx) {
            Ok(text) => {
                Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).map(Amount).map_err(|e| {
                    TryGetError::DbErr(sea_orm::DbErr::Type(format!("money column holds a non-decimal value: {e}")))
                })
            }
            Err(_) => Decimal::try_get_by(res, idx).map(Amount),
        }
    }
}

impl ValueType for Amount {
    fn try_from(v: Value) -> Result<Self, ValueTypeErr> {
        match v {
            Value::Decimal(Some(d)) => Ok(Amount(d)),
            Value::String(Some(s)) => Decimal::from_str(&s).map(Amount).map_err(|_| ValueTypeErr),
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "Amount".to_owned()
    }

    fn array_type() -> ArrayType {
        ArrayType::Decimal
    }

    fn column_type() -> ColumnType {
        ColumnType::Decimal(None)
    }
}

impl sea_orm::sea_query::Nullable for Amount {
    fn null() -> Value {
        Value::Decimal(None)
    }
}
