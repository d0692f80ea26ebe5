//! The balance journal: one immutable row per committed change of an
//! asset's balance (its initial balance, an adjustment, an import), with
//! the deltas and the balances right after. Existing assets get one
//! INITIAL row with their current balance, at their creation time.

use crate::columns::{a, money, string, string_null, ts, uuid};
use sea_orm_migration::prelude::*;

/// Creates `balance_entries` and writes the INITIAL rows of existing assets.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000003_balance_journal"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = m.get_database_backend();
        let mut table = Table::create();
        table
            .table(a("balance_entries"))
            .if_not_exists()
            .col(ColumnDef::new(a("id")).uuid().not_null().primary_key())
            .col(uuid(a("organization_id")))
            .col(uuid(a("asset_id")))
            .col(ts(a("at")))
            .col(string(a("actor")))
            .col(string(a("cause")))
            .col(string_null(a("idempotency_key")));
        for column in
            ["delta_available", "delta_on_hold", "delta_future", "available", "on_hold", "future", "credit_limit"]
        {
            table.col(money(a(column), b));
        }
        m.create_table(table.to_owned()).await?;
        m.create_index(
            Index::create()
                .name("idx_balance_entries_asset_at")
                .table(a("balance_entries"))
                .col(a("asset_id"))
                .col(a("at"))
                .col(a("id"))
                .if_not_exists()
                .to_owned(),
        )
        .await?;
        // The asset's own id is unique per asset: the INITIAL row borrows it.
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO balance_entries (id, organization_id, asset_id, at, actor, cause, idempotency_key, \
                 delta_available, delta_on_hold, delta_future, available, on_hold, future, credit_limit) \
                 SELECT id, organization_id, id, created_at, 'migration', 'INITIAL', NULL, \
                 available, on_hold, future, available, on_hold, future, credit_limit FROM assets",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(a("balance_entries")).to_owned()).await
    }
}
