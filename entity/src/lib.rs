//! SeaORM entities of the accounts gateway.
//!
//! One module per table. Every table carries `organization_id`: the tenant
//! boundary is part of the data, not only of the queries. Status and kind
//! columns are plain strings here; the gateway's domain layer owns their
//! meaning, so a new enum value never needs a database type migration.

pub mod account;
pub mod account_event;
pub mod account_type;
pub mod amount;
pub mod api_key;
pub mod asset;
pub mod audit_event;
pub mod balance_entry;
pub mod client;
pub mod currency;
pub mod currency_network;
pub mod idempotency_record;
pub mod network;
pub mod organization;
pub mod project;
pub mod quote_history;
pub mod server_setting;
pub mod smart_card;
pub mod transfer;
pub mod wallet;

pub use amount::Amount;

/// A value of type `T` at a position of a row: what [`positional!`]
/// models are built from (the gateway's reader of rows by position
/// implements it for every column type).
pub trait Get<T> {
    /// The value at position `at`.
    fn get_at(&self, at: usize) -> Result<T, sea_orm::DbErr>;
}

/// Declares an entity's `Model` and, from the same field list, its
/// columns in order (`Model::FIELDS`) and its decoding from consecutive
/// positions of a row (`Model::from_positions`): a new column is written
/// once, here, and positional decoding follows.
#[macro_export]
macro_rules! positional {
    (
        $(#[$meta:meta])*
        pub struct Model { $($(#[$field_meta:meta])* pub $field:ident : $ty:ty),+ $(,)? }
    ) => {
        $(#[$meta])*
        pub struct Model { $($(#[$field_meta])* pub $field : $ty),+ }

        impl Model {
            /// The fields, in the order the entity selects their columns.
            pub const FIELDS: &'static [&'static str] = &[$(stringify!($field)),+];

            /// The model from the values at `at`, `at + 1`, ... of `row`.
            pub fn from_positions<R>(row: &R, at: usize) -> Result<Self, sea_orm::DbErr>
            where
                R: $($crate::Get<$ty> +)+ ?Sized,
            {
                // Struct fields are evaluated in the order written.
                let mut next = at..;
                Ok(Self { $($field: <R as $crate::Get<$ty>>::get_at(row, next.next().unwrap_or_default())?),+ })
            }
        }
    };
}
