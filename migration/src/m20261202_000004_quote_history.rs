//! Every quote the gateway obtained from its price source, one row per
//! distinct (currency, source timestamp): what a point-in-time valuation
//! reads.

use crate::columns::{a, money, string, ts};
use sea_orm_migration::prelude::*;

/// Creates `quote_history`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000004_quote_history"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = m.get_database_backend();
        m.create_table(
            Table::create()
                .table(a("quote_history"))
                .if_not_exists()
                .col(string(a("currency")))
                .col(ts(a("at")))
                .col(money(a("rate"), b))
                .col(string(a("source")))
                .primary_key(Index::create().col(a("currency")).col(a("at")))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("quote_history")).to_owned()).await
    }
}
