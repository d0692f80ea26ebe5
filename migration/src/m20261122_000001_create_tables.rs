//! The whole data model behind the public contract, in one first migration.

use crate::columns::*;
use sea_orm_migration::prelude::*;

/// Creates every table, constraint and index.
pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_create_tables"
    }
}

/// A table with the id and tenant columns every table has (bar organizations).
fn tenant_table(name: &str) -> TableCreateStatement {
    Table::create()
        .table(a(name))
        .if_not_exists()
        .col(id(a("id")))
        .col(uuid(a("organization_id")))
        .foreign_key(&mut fk(name, "organization_id", "organizations"))
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let b = m.get_database_backend();

        m.create_table(
            Table::create()
                .table(a("organizations"))
                .if_not_exists()
                .col(id(a("id")))
                .col(string(a("name")).unique_key().to_owned())
                .col(ColumnDef::new(a("account_seq")).big_integer().not_null().default(0))
                .col(ts(a("created_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(tenant_table("projects").col(string(a("name"))).col(ts(a("created_at"))).to_owned()).await?;

        m.create_table(
            tenant_table("clients")
                .col(string_null(a("external_id")))
                .col(string(a("name")))
                .col(string_null(a("email")))
                .col(string(a("kind")))
                .col(ts(a("created_at")))
                .col(ts(a("updated_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("account_types")
                .col(string(a("code")))
                .col(string(a("name")))
                .col(string_null(a("category")))
                .col(ts(a("created_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("networks")
                .col(string(a("code")))
                .col(string(a("name")))
                .col(string_null(a("address_pattern")))
                .col(ts(a("created_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("currencies")
                .col(string(a("code")))
                .col(string(a("name")))
                .col(string(a("symbol")))
                .col(string(a("type")))
                .col(ColumnDef::new(a("decimals")).integer().not_null())
                .col(ts(a("created_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("currency_networks"))
                .if_not_exists()
                .col(uuid(a("currency_id")))
                .col(uuid(a("network_id")))
                .col(uuid(a("organization_id")))
                .primary_key(Index::create().col(a("currency_id")).col(a("network_id")))
                .foreign_key(&mut fk("currency_networks", "currency_id", "currencies"))
                .foreign_key(&mut fk("currency_networks", "network_id", "networks"))
                .foreign_key(&mut fk("currency_networks", "organization_id", "organizations"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("accounts")
                .col(ColumnDef::new(a("uid")).big_integer().not_null())
                .col(string(a("account_number")))
                .col(string(a("name")))
                .col(string_null(a("alias")))
                .col(uuid(a("type_id")))
                .col(string(a("kind")))
                .col(string_null(a("system_role")))
                .col(string_null(a("system_key")))
                .col(string(a("status")))
                .col(string_null(a("status_reason_code")))
                .col(string_null(a("status_reason_description")))
                .col(ts(a("status_changed_at")))
                .col(string_null(a("external_id")))
                .col(uuid_null(a("project_id")))
                .col(uuid_null(a("owner_id")))
                .col(uuid_null(a("parent_id")))
                .col(ColumnDef::new(a("depth")).integer().not_null().default(0))
                .col(string_null(a("product_id")))
                .col(flag(a("allow_sending"), true))
                .col(flag(a("allow_receiving"), true))
                .col(flag(a("main"), false))
                .col(flag(a("accounting"), false))
                .col(string_null(a("custody")))
                .col(json(a("custody_bank_account"), b, true))
                .col(json(a("metadata"), b, false))
                .col(ColumnDef::new(a("version")).integer().not_null().default(1))
                .col(ts(a("created_at")))
                .col(ts(a("updated_at")))
                .col(ts_null(a("deleted_at")))
                .foreign_key(&mut fk("accounts", "type_id", "account_types"))
                .foreign_key(&mut fk("accounts", "project_id", "projects"))
                .foreign_key(&mut fk("accounts", "owner_id", "clients"))
                .foreign_key(&mut fk("accounts", "parent_id", "accounts"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("assets")
                .col(uuid(a("account_id")))
                .col(uuid(a("currency_id")))
                .col(string(a("status")))
                .col(money(a("available"), b))
                .col(money(a("on_hold"), b))
                .col(money(a("future"), b))
                .col(money(a("credit_limit"), b))
                .col(string_null(a("address")))
                .col(string_null(a("external_id")))
                .col(string_null(a("bank")))
                .col(string_null(a("platform")))
                .col(ColumnDef::new(a("version")).integer().not_null().default(1))
                .col(ts(a("created_at")))
                .col(ts(a("updated_at")))
                .foreign_key(&mut fk("assets", "account_id", "accounts"))
                .foreign_key(&mut fk("assets", "currency_id", "currencies"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("wallets")
                .col(uuid(a("asset_id")))
                .col(uuid(a("network_id")))
                .col(string(a("address")))
                .col(flag(a("active"), true))
                .col(ts(a("created_at")))
                .foreign_key(&mut fk("wallets", "asset_id", "assets"))
                .foreign_key(&mut fk("wallets", "network_id", "networks"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("smart_cards")
                .col(uuid(a("account_id")))
                .col(string(a("name")))
                .col(string(a("last4")))
                .col(string(a("fingerprint")))
                .col(string(a("expiration_date")))
                .col(flag(a("active"), true))
                .col(ts(a("created_at")))
                .foreign_key(&mut fk("smart_cards", "account_id", "accounts"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("audit_events")
                .col(ts(a("at")))
                .col(string(a("actor")))
                .col(string(a("action")))
                .col(string(a("entity_type")))
                .col(uuid(a("entity_id")))
                .col(uuid_null(a("account_id")))
                .col(json(a("before"), b, true))
                .col(json(a("after"), b, true))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("api_keys")
                .col(string(a("name")))
                .col(string(a("role")))
                .col(string(a("prefix")))
                .col(string(a("key_hash")).unique_key().to_owned())
                .col(ts(a("created_at")))
                .col(ts_null(a("revoked_at")))
                .to_owned(),
        )
        .await?;

        m.create_table(
            tenant_table("idempotency_records")
                .col(string(a("key")))
                .col(string(a("scope")))
                .col(string(a("request_hash")))
                .col(json(a("response"), b, false))
                .col(ts(a("created_at")))
                .to_owned(),
        )
        .await?;

        // Server-wide secrets (such as the card fingerprint key) generated on
        // first start, so that an embedded install is keyed without setup.
        m.create_table(
            Table::create()
                .table(a("server_settings"))
                .if_not_exists()
                .col(ColumnDef::new(a("name")).string().not_null().primary_key())
                .col(string(a("value")))
                .to_owned(),
        )
        .await?;

        let indexes = [
            index("projects", &["organization_id", "name"], true),
            index("clients", &["organization_id", "external_id"], true),
            index("clients", &["organization_id", "email"], false),
            index("clients", &["organization_id", "created_at"], false),
            index("account_types", &["organization_id", "code"], true),
            index("networks", &["organization_id", "code"], true),
            index("currencies", &["organization_id", "code"], true),
            index("currency_networks", &["network_id"], false),
            index("accounts", &["organization_id", "uid"], true),
            index("accounts", &["organization_id", "account_number"], true),
            index("accounts", &["organization_id", "alias"], true),
            index("accounts", &["organization_id", "external_id"], true),
            index("accounts", &["organization_id", "system_key"], true),
            index("accounts", &["organization_id", "created_at", "id"], false),
            index("accounts", &["organization_id", "updated_at", "id"], false),
            index("accounts", &["organization_id", "name", "id"], false),
            index("accounts", &["organization_id", "owner_id"], false),
            index("accounts", &["organization_id", "parent_id"], false),
            index("accounts", &["organization_id", "project_id"], false),
            index("accounts", &["organization_id", "type_id"], false),
            index("accounts", &["organization_id", "status"], false),
            index("assets", &["account_id", "currency_id"], true),
            index("assets", &["organization_id", "currency_id"], false),
            index("wallets", &["organization_id", "network_id", "address"], true),
            index("wallets", &["asset_id"], false),
            index("wallets", &["organization_id", "address"], false),
            index("smart_cards", &["account_id"], false),
            index("smart_cards", &["organization_id", "fingerprint"], true),
            index("audit_events", &["organization_id", "entity_id", "at"], false),
            index("audit_events", &["organization_id", "at"], false),
            index("audit_events", &["organization_id", "account_id", "at"], false),
            index("api_keys", &["organization_id", "name"], false),
            index("idempotency_records", &["organization_id", "key"], true),
        ];
        for idx in indexes {
            m.create_index(idx).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "server_settings",
            "idempotency_records",
            "api_keys",
            "audit_events",
            "smart_cards",
            "wallets",
            "assets",
            "accounts",
            "currency_networks",
            "currencies",
            "networks",
            "account_types",
            "clients",
            "projects",
            "organizations",
        ] {
            m.drop_table(Table::drop().table(a(t)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
