//! Transfers between accounts (v3): one row per transfer, exactly once per
//! (organization, idempotency key), and the journal rows of its legs point
//! back to it.

use crate::columns::{a, fk, id, index, json, money, string, string_null, ts, uuid, uuid_null};
use sea_orm_migration::prelude::*;

/// Creates `transfers` and `balance_entries.transfer_id`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_transfers"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = m.get_database_backend();
        let mut table = Table::create();
        table
            .table(a("transfers"))
            .if_not_exists()
            .col(id(a("id")))
            .col(uuid(a("organization_id")))
            .col(string(a("idempotency_key")))
            .col(string(a("request_hash")))
            .col(uuid(a("from_asset_id")))
            .col(uuid(a("to_asset_id")))
            .col(uuid(a("from_account_id")))
            .col(uuid(a("to_account_id")))
            .col(uuid(a("currency_id")))
            .col(money(a("amount"), b))
            .col(money(a("fee"), b))
            .col(uuid_null(a("fee_asset_id")))
            .col(string_null(a("reason")))
            .col(json(a("metadata"), b, true))
            .col(string(a("actor")))
            .col(ts(a("at")))
            .foreign_key(&mut fk("transfers", "organization_id", "organizations"))
            .foreign_key(&mut fk("transfers", "from_asset_id", "assets"))
            .foreign_key(&mut fk("transfers", "to_asset_id", "assets"));
        m.create_table(table.to_owned()).await?;
        for idx in [
            index("transfers", &["organization_id", "idempotency_key"], true),
            index("transfers", &["organization_id", "at", "id"], false),
            index("transfers", &["organization_id", "from_account_id", "at", "id"], false),
            index("transfers", &["organization_id", "to_account_id", "at", "id"], false),
            index("transfers", &["organization_id", "from_asset_id", "at", "id"], false),
            index("transfers", &["organization_id", "to_asset_id", "at", "id"], false),
        ] {
            m.create_index(idx).await?;
        }
        m.alter_table(Table::alter().table(a("balance_entries")).add_column(uuid_null(a("transfer_id"))).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("balance_entries")).drop_column(a("transfer_id")).to_owned()).await?;
        m.drop_table(Table::drop().table(a("transfers")).to_owned()).await
    }
}
