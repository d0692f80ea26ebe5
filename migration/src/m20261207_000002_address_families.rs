//! Networks carry an address family instead of being recognised by their
//! code (a network created as `eth-mainnet` got no check), and EVM wallet
//! addresses are kept in one form, lower-case, so the same address in
//! another case is the same wallet.

use crate::columns::a;
use sea_orm_migration::prelude::*;

/// Adds `networks.address_family`, sets it for existing networks, and
/// lower-cases the addresses of EVM wallets.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000002_address_families"
    }
}

/// Network codes whose family was known by convention before families.
const BY_CODE: [(&str, &str); 11] = [
    ("ethereum", "EVM"),
    ("polygon", "EVM"),
    ("arbitrum", "EVM"),
    ("optimism", "EVM"),
    ("base", "EVM"),
    ("bsc", "EVM"),
    ("avalanche", "EVM"),
    ("sepolia", "EVM"),
    ("bitcoin", "BITCOIN"),
    ("tron", "TRON"),
    ("solana", "SOLANA"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let column = ColumnDef::new(a("address_family")).string().not_null().default("UNCHECKED").to_owned();
        m.alter_table(Table::alter().table(a("networks")).add_column(column).to_owned()).await?;
        let db = m.get_connection();
        for (code, family) in BY_CODE {
            db.execute_unprepared(&format!("UPDATE networks SET address_family = '{family}' WHERE code = '{code}'"))
                .await?;
        }
        db.execute_unprepared(
            "UPDATE networks SET address_family = 'PATTERN' \
             WHERE address_family = 'UNCHECKED' AND address_pattern IS NOT NULL",
        )
        .await?;
        // One form per EVM address. A wallet whose address another wallet
        // of the network holds in another case keeps its spelling (both
        // rows stay; nothing is deleted by a migration).
        db.execute_unprepared(
            "UPDATE wallets SET address = lower(address) \
             WHERE address <> lower(address) \
             AND network_id IN (SELECT id FROM networks WHERE address_family = 'EVM') \
             AND NOT EXISTS (SELECT 1 FROM wallets twin WHERE twin.organization_id = wallets.organization_id \
             AND twin.network_id = wallets.network_id AND twin.id <> wallets.id \
             AND lower(twin.address) = lower(wallets.address))",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("networks")).drop_column(a("address_family")).to_owned()).await
    }
}
