//! The contract's enums. Stored as their SCREAMING_CASE names in string
//! columns; `as_str` and `parse` are the only translation.

use crate::error::AppError;

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
