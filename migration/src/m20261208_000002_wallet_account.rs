//! Seed 004's `walletAccountId` on accounts: a nullable reference to
//! another account of the organization (checked by the gateway, which
//! answers NOT_FOUND for one that names none).

use crate::columns::{a, uuid_null};
use sea_orm_migration::prelude::*;

/// Adds `accounts.wallet_account_id`.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000002_wallet_account"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("accounts")).add_column(uuid_null(a("wallet_account_id"))).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("accounts")).drop_column(a("wallet_account_id")).to_owned()).await
    }
}
