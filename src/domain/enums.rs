//! The contract's enums. Stored as their SCREAMING_CASE names in string
//! columns; `as_str` and `parse` are the only translation.

use crate::error::AppError;
use chrono::{DateTime, Utc};

/// Declares a contract enum with its storage spelling.
macro_rules! contract_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// The stored and public spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value spelled `text`, if any.
            pub fn from_name(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Reads a stored value; anything else is a corrupt row.
            pub fn parse(text: &str) -> Result<Self, AppError> {
                Self::from_name(text).ok_or_else(|| AppError::internal(format!(
                    concat!("unknown ", stringify!($name), " value {:?} in the database"), text
                )))
            }
        }
    };
}

contract_enum!(
    /// What the caller may do.
    Role { Admin => "ADMIN", Operator => "OPERATOR", Viewer => "VIEWER" }
);
contract_enum!(
    /// Whose money an account holds.
    AccountKind { Client => "CLIENT", System => "SYSTEM" }
);
contract_enum!(
    /// The job of a system account.
    SystemRole { Omnibus => "OMNIBUS", FeePayer => "FEE_PAYER", Reserve => "RESERVE", IssuingBalance => "ISSUING_BALANCE" }
);
contract_enum!(
    /// Account life cycle; see the status machine in DESIGN.md.
    AccountStatus {
        Pending => "PENDING", Active => "ACTIVE", Inactive => "INACTIVE",
        Blocked => "BLOCKED", Suspended => "SUSPENDED", Deleted => "DELETED",
    }
);
contract_enum!(
    /// What `accountsAggregate` groups by.
    AccountGroupKey {
        Type => "TYPE", Status => "STATUS", Kind => "KIND", Owner => "OWNER", Project => "PROJECT",
        Currency => "CURRENCY", CreatedDay => "CREATED_DAY", CreatedMonth => "CREATED_MONTH",
    }
);
contract_enum!(
    /// The bucket of a balance chart.
    HistoryInterval { Hour => "HOUR", Day => "DAY", Week => "WEEK" }
);

impl HistoryInterval {
    /// The bucket's length in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            HistoryInterval::Hour => 3_600,
            HistoryInterval::Day => 86_400,
            HistoryInterval::Week => 604_800,
        }
    }

    /// Where buckets start, in seconds after the epoch: weeks start on
    /// Monday 00:00 UTC (the epoch was a Thursday).
    pub fn offset(self) -> i64 {
        match self {
            HistoryInterval::Week => 4 * 86_400,
            _ => 0,
        }
    }

    /// The first and last bucket (by number) whose end lies in
    /// `(from, to]`: one point each; none when `last < first`.
    pub fn buckets(self, from: DateTime<Utc>, to: DateTime<Utc>) -> (i64, i64) {
        let (secs, off) = (self.seconds(), self.offset());
        let bucket = |t: DateTime<Utc>| (t.timestamp() - off).div_euclid(secs);
        let start = |b: i64| DateTime::<Utc>::from_timestamp(off + b * secs, 0).unwrap_or_default();
        let first = if start(bucket(from)) < from { bucket(from) + 1 } else { bucket(from) };
        let last = if start(bucket(to)) < to { bucket(to) } else { bucket(to) - 1 };
        (first, last)
    }

    /// How many points a chart of `[from, to)` has, at most `cap` (the
    /// cost model weighs a chart by it).
    pub fn points(self, from: DateTime<Utc>, to: DateTime<Utc>, cap: usize) -> usize {
        let (first, last) = self.buckets(from, to);
        usize::try_from(last - first + 1).unwrap_or(0).min(cap)
    }
}

contract_enum!(
    /// What made a balance change.
    BalanceCause { Initial => "INITIAL", Adjustment => "ADJUSTMENT", Import => "IMPORT", Transfer => "TRANSFER" }
);
contract_enum!(
    /// How a network's addresses are checked: a known family, a pattern the
    /// whole address must match, or nothing beyond its length.
    AddressFamily {
        Evm => "EVM", Bitcoin => "BITCOIN", Tron => "TRON", Solana => "SOLANA", Iban => "IBAN",
        Pattern => "PATTERN", Unchecked => "UNCHECKED"
    }
);
contract_enum!(
    /// Whether an asset can be used.
    AssetStatus { Active => "ACTIVE", Inactive => "INACTIVE" }
);
contract_enum!(
    /// Fiat or crypto.
    CurrencyType { Fiat => "FIAT", Crypto => "CRYPTO" }
);
contract_enum!(
    /// A person or a business.
    ClientKind { Person => "PERSON", Business => "BUSINESS" }
);
contract_enum!(
    /// Where a card stands against its expiration date.
    CardExpirationStatus { Active => "ACTIVE", ExpiringSoon => "EXPIRING_SOON", Expired => "EXPIRED" }
);
contract_enum!(
    /// The column an account list is sorted by (then by id).
    AccountOrderField { CreatedAt => "CREATED_AT", Uid => "UID", Name => "NAME", UpdatedAt => "UPDATED_AT" }
);
contract_enum!(
    /// Sort direction.
    OrderDirection { Asc => "ASC", Desc => "DESC" }
);
