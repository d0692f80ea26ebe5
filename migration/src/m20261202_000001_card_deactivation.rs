//! Why and when a smart card was last deactivated (seed 002 keeps the
//! reason; the contract shows it as `SmartCard.deactivation`).

use crate::columns::{string_null, ts_null};
use sea_orm_migration::prelude::*;

/// Adds the deactivation reason and time to `smart_cards`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000001_card_deactivation"
    }
}

const COLUMNS: [&str; 3] = ["deactivation_reason_code", "deactivation_reason_description", "deactivated_at"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one at a time.
        for name in COLUMNS {
            let column =
                if name == "deactivated_at" { ts_null(Alias::new(name)) } else { string_null(Alias::new(name)) };
            m.alter_table(Table::alter().table(Alias::new("smart_cards")).add_column(column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in COLUMNS {
            m.alter_table(Table::alter().table(Alias::new("smart_cards")).drop_column(Alias::new(name)).to_owned())
                .await?;
        }
        Ok(())
    }
}
