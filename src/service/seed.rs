//! Demo data: a small, realistic set for exploring, and generated volume for
//! benchmarks. Rows are built in memory and written in multi-row inserts
//! inside one transaction, which is what makes 100,000 accounts take seconds.

use crate::domain::account_number::account_number;
use crate::domain::address::demo_address;
use crate::domain::cards::{fingerprint, luhn_check_digit, mm_yy_after};
use crate::domain::{AccountKind, AccountStatus, AssetStatus};
use crate::error::AppResult;
use crate::service::account_write::new_account;
use crate::service::asset_write::new_asset;
use crate::service::organizations;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use entity::{
    account, account_type, asset, client, currency, currency_network, network, project, smart_card, wallet, Amount,
};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, Insert, PaginatorTrait, QueryFilter,
    TransactionSession, TransactionTrait,
};
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

/// Rows per multi-row INSERT for a table of `columns` columns: as many as
/// the bound-parameter limit allows (SQLite 32,766; PostgreSQL 65,535).
/// Over TCP each PostgreSQL statement costs a round trip that sqlx leaves
/// to Nagle and delayed ACKs (tens of ms), so fewer, larger statements win.
fn chunk_rows(backend: sea_orm::DbBackend, columns: usize) -> usize {
    let columns = columns.max(1);
    match backend {
        sea_orm::DbBackend::Postgres => 60_000 / columns,
        _ => 30_000 / columns,
    }
}

/// What a seed run wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeedReport {
    /// Accounts created.
    pub accounts: usize,
    /// Assets created.
    pub assets: usize,
}

struct Catalog {
    types: HashMap<&'static str, Uuid>,
    currencies: HashMap<&'static str, Uuid>,
    networks: HashMap<&'static str, Uuid>,
    projects: Vec<Uuid>,
}

const TYPES: &[(&str, &str, Option<&str>)] = &[
    ("PERSONAL", "Personal", None),
    ("BUSINESS", "Business", None),
    ("DEPOSIT", "Deposit", Some("FIAT")),
    ("SAVINGS", "Savings", Some("FIAT")),
    ("CRYPTO", "Crypto", Some("CRYPTO")),
    ("STABLECOINS", "Stablecoins", Some("CRYPTO")),
    ("SYSTEM", "System", None),
];
const CURRENCIES: &[(&str, &str, &str, &str, i32)] = &[
    ("USD", "US Dollar", "$", "FIAT", 2),
    ("EUR", "Euro", "€", "FIAT", 2),
    ("BRL", "Brazilian Real", "R$", "FIAT", 2),
    ("BTC", "Bitcoin", "₿", "CRYPTO", 8),
    ("ETH", "Ethereum", "Ξ", "CRYPTO", 18),
    ("USDC", "USD Coin", "USDC", "CRYPTO", 6),
];
const NETWORKS: &[(&str, &str, &str)] = &[
    ("ethereum", "Ethereum", "^0x[0-9a-fA-F]{40}$"),
    ("polygon", "Polygon", "^0x[0-9a-fA-F]{40}$"),
    ("bitcoin", "Bitcoin", "^(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,62}$"),
    ("tron", "Tron", "^T[1-9A-HJ-NP-Za-km-z]{33}$"),
];
const LIVES_ON: &[(&str, &str)] = &[
    ("BTC", "bitcoin"),
    ("ETH", "ethereum"),
    ("ETH", "polygon"),
    ("USDC", "ethereum"),
    ("USDC", "polygon"),
    ("USDC", "tron"),
];

/// Rows to insert, in dependency order.
#[derive(Default)]
struct Batch {
    clients: Vec<client::ActiveModel>,
    accounts: Vec<account::ActiveModel>,
    assets: Vec<asset::ActiveModel>,
    wallets: Vec<wallet::ActiveModel>,
    cards: Vec<smart_card::ActiveModel>,
}

async fn insert_chunks<C, A>(db: &C, rows: Vec<A>) -> AppResult<()>
where
    C: ConnectionTrait,
    A: sea_orm::ActiveModelTrait + Send,
{
    let columns =
        <<<A as sea_orm::ActiveModelTrait>::Entity as EntityTrait>::Column as sea_orm::Iterable>::iter().count();
    let size = chunk_rows(db.get_database_backend(), columns);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(size).collect();
        Insert::many(chunk).exec_without_returning(db).await?;
    }
    Ok(())
}

impl Batch {
    async fn flush<C: ConnectionTrait>(self, db: &C) -> AppResult<SeedReport> {
        let report = SeedReport { accounts: self.accounts.len(), assets: self.assets.len() };
        insert_chunks(db, self.clients).await?;
        insert_chunks(db, self.accounts).await?;
        insert_chunks(db, self.assets).await?;
        insert_chunks(db, self.wallets).await?;
        insert_chunks(db, self.cards).await?;
        Ok(report)
    }
}

/// One account to create; the rest of the columns take their defaults.
struct AccountSpec<'a> {
    name: String,
    type_code: &'a str,
    owner: Option<Uuid>,
    parent: Option<(Uuid, i32)>,
    status: AccountStatus,
    alias: Option<String>,
    external_id: Option<String>,
    system_role: Option<(&'a str, &'a str)>,
    project: Option<Uuid>,
    metadata: serde_json::Value,
    created_at: DateTime<Utc>,
}

impl<'a> AccountSpec<'a> {
    fn new(name: impl Into<String>, type_code: &'a str, owner: Option<Uuid>, created_at: DateTime<Utc>) -> Self {
        AccountSpec {
            name: name.into(),
            type_code,
            owner,
            parent: None,
            status: AccountStatus::Active,
            alias: None,
            external_id: None,
            system_role: None,
            project: None,
            metadata: serde_json::json!({}),
            created_at,
        }
    }
}

struct Seeder<'k> {
    org: Uuid,
    /// The instant the data set is made at: demo dates count back from it.
    today: DateTime<Utc>,
    next_uid: i64,
    card_key: &'k [u8],
    catalog: Catalog,
    batch: Batch,
}

fn dec(text: &str) -> Amount {
    Amount(Decimal::from_str(text).unwrap_or_default())
}

impl Seeder<'_> {
    fn client(&mut self, name: &str, email: &str, ext: &str, kind: &str, at: DateTime<Utc>) -> Uuid {
        let id = Uuid::now_v7();
        self.batch.clients.push(client::ActiveModel {
            id: Set(id),
            organization_id: Set(self.org),
            external_id: Set(Some(ext.to_owned())),
            name: Set(name.to_owned()),
            email: Set(Some(email.to_owned())),
            kind: Set(kind.to_owned()),
            created_at: Set(at),
            updated_at: Set(at),
        });
        id
    }

    fn account(&mut self, spec: AccountSpec<'_>) -> (Uuid, i32) {
        let id = Uuid::now_v7();
        let uid = self.next_uid;
        self.next_uid += 1;
        let depth = spec.parent.map_or(0, |(_, d)| d + 1);
        let (kind, role, key) = match spec.system_role {
            Some((role, cur)) => (AccountKind::System, Some(role.to_owned()), Some(format!("{role}:{cur}"))),
            None => (AccountKind::Client, None, None),
        };
        let reason = !matches!(spec.status, AccountStatus::Active | AccountStatus::Pending);
        let reason = reason.then(|| "other".to_owned());
        let type_id = self.catalog.types.get(spec.type_code).copied().unwrap_or_default();
        let mut row = new_account(self.org, uid, spec.name, type_id, kind, spec.status, spec.created_at);
        row.id = Set(id);
        row.alias = Set(spec.alias);
        row.system_role = Set(role);
        row.system_key = Set(key);
        row.status_reason_code = Set(reason);
        row.external_id = Set(spec.external_id);
        row.project_id = Set(spec.project);
        row.owner_id = Set(spec.owner);
        row.parent_id = Set(spec.parent.map(|(p, _)| p));
        row.depth = Set(depth);
        row.main = Set(spec.parent.is_none() && spec.owner.is_some());
        row.metadata = Set(spec.metadata);
        self.batch.accounts.push(row);
        (id, depth)
    }

    fn asset(
        &mut self,
        account: Uuid,
        code: &str,
        available: &str,
        on_hold: &str,
        address: Option<&str>,
        at: DateTime<Utc>,
    ) -> Uuid {
        let currency = self.catalog.currencies.get(code).copied().unwrap_or_default();
        let mut row = new_asset(self.org, account, currency, AssetStatus::Active, at);
        let id = Uuid::now_v7();
        row.id = Set(id);
        row.available = Set(dec(available));
        row.on_hold = Set(dec(on_hold));
        row.address = Set(address.map(str::to_owned));
        self.batch.assets.push(row);
        id
    }

    fn wallet(&mut self, asset: Uuid, network: &str, address: String, at: DateTime<Utc>) {
        self.batch.wallets.push(wallet::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(self.org),
            asset_id: Set(asset),
            network_id: Set(self.catalog.networks.get(network).copied().unwrap_or_default()),
            address: Set(address),
            active: Set(true),
            created_at: Set(at),
        });
    }

    fn card(&mut self, account: Uuid, name: &str, seed: u64, expiry: String, at: DateTime<Utc>) {
        let payload = format!("4{:014}", seed % 100_000_000_000_000);
        let number = format!("{payload}{}", luhn_check_digit(&payload));
        self.batch.cards.push(smart_card::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(self.org),
            account_id: Set(account),
            name: Set(name.to_owned()),
            last4: Set(number[number.len() - 4..].to_owned()),
            fingerprint: Set(fingerprint(self.card_key, &number)),
            expiration_date: Set(expiry),
            active: Set(true),
            created_at: Set(at),
            deactivation_reason_code: Set(None),
            deactivation_reason_description: Set(None),
            deactivated_at: Set(None),
        });
    }

    fn evm_address(seed: &str) -> String {
        demo_address("ethereum", seed.as_bytes())
    }
}

/// Creates the catalog (types, currencies, networks, projects) where absent
/// and returns the ids by code.
async fn ensure_catalog<C: ConnectionTrait>(db: &C, org: Uuid, at: DateTime<Utc>) -> AppResult<Catalog> {
    let mut catalog =
        Catalog { types: HashMap::new(), currencies: HashMap::new(), networks: HashMap::new(), projects: Vec::new() };
    let existing = account_type::Entity::find().filter(account_type::Column::OrganizationId.eq(org)).all(db).await?;
    for (code, name, category) in TYPES {
        let id = match existing.iter().find(|t| t.code == *code) {
            Some(t) => t.id,
            None => {
                let m = account_type::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    code: Set((*code).to_owned()),
                    name: Set((*name).to_owned()),
                    category: Set(category.map(str::to_owned)),
                    created_at: Set(at),
                };
                m.insert(db).await?.id
            }
        };
        catalog.types.insert(code, id);
    }
    let existing = currency::Entity::find().filter(currency::Column::OrganizationId.eq(org)).all(db).await?;
    let mut created_currencies = Vec::new();
    for (code, name, symbol, kind, decimals) in CURRENCIES {
        let id = match existing.iter().find(|c| c.code == *code) {
            Some(c) => c.id,
            None => {
                let m = currency::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    code: Set((*code).to_owned()),
                    name: Set((*name).to_owned()),
                    symbol: Set((*symbol).to_owned()),
                    currency_type: Set((*kind).to_owned()),
                    decimals: Set(*decimals),
                    created_at: Set(at),
                };
                created_currencies.push(*code);
                m.insert(db).await?.id
            }
        };
        catalog.currencies.insert(code, id);
    }
    let existing = network::Entity::find().filter(network::Column::OrganizationId.eq(org)).all(db).await?;
    for (code, name, pattern) in NETWORKS {
        let id = match existing.iter().find(|n| n.code == *code) {
            Some(n) => n.id,
            None => {
                let m = network::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    code: Set((*code).to_owned()),
                    name: Set((*name).to_owned()),
                    address_pattern: Set(Some((*pattern).to_owned())),
                    created_at: Set(at),
                };
                m.insert(db).await?.id
            }
        };
        catalog.networks.insert(code, id);
    }
    for (cur, net) in LIVES_ON.iter().filter(|(c, _)| created_currencies.contains(c)) {
        let link = currency_network::ActiveModel {
            currency_id: Set(catalog.currencies[cur]),
            network_id: Set(catalog.networks[net]),
            organization_id: Set(org),
        };
        link.insert(db).await?;
    }
    let existing = project::Entity::find().filter(project::Column::OrganizationId.eq(org)).all(db).await?;
    for name in ["Retail", "Treasury"] {
        let id = match existing.iter().find(|p| p.name == name) {
            Some(p) => p.id,
            None => {
                let m = project::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    organization_id: Set(org),
                    name: Set(name.to_owned()),
                    created_at: Set(at),
                };
                m.insert(db).await?.id
            }
        };
        catalog.projects.push(id);
    }
    Ok(catalog)
}

impl Seeder<'_> {
    /// The hand-written demo set: every kind of account and nesting.
    fn demo(&mut self) {
        let today = self.today;
        let t0 = today - Duration::days(30);
        let at = |mins: i64| t0 + Duration::minutes(mins);
        let ana = self.client("Ana Souza", "ana.souza@example.com", "cli-ana", "PERSON", at(0));
        let john = self.client("John Doe", "john.doe@example.com", "cli-john", "PERSON", at(1));
        let mei = self.client("Mei Tanaka", "mei.tanaka@example.com", "cli-mei", "PERSON", at(2));
        let acme = self.client("Acme Trading Ltd", "finance@acme.example", "cli-acme", "BUSINESS", at(3));
        let river = self.client("Blue River Payments", "ops@blueriver.example", "cli-blueriver", "BUSINESS", at(4));
        let (retail, treasury) = (self.catalog.projects[0], self.catalog.projects[1]);

        let mut spec = AccountSpec::new("Ana personal", "PERSONAL", Some(ana), at(10));
        spec.alias = Some("ana".into());
        spec.external_id = Some("acc-ana-main".into());
        spec.project = Some(retail);
        spec.metadata = serde_json::json!({"segment": "retail", "tier": 1, "vip": false});
        let ana_main = self.account(spec);
        self.asset(ana_main.0, "USD", "1520.75", "20.00", Some("DE89370400440532013000"), at(10));
        self.asset(ana_main.0, "BRL", "3200.00", "0.00", Some("BR1800360305000010009795493C1"), at(10));
        self.card(ana_main.0, "Ana debit", 4_000_001, mm_yy_after(today, 24), at(11));
        self.card(ana_main.0, "Ana old card", 4_000_002, mm_yy_after(today, -2), at(11));
        let mut spec = AccountSpec::new("Ana savings", "SAVINGS", Some(ana), at(12));
        spec.parent = Some(ana_main);
        let ana_sav = self.account(spec);
        self.asset(ana_sav.0, "USD", "5000.00", "0.00", None, at(12));
        let mut spec = AccountSpec::new("Ana vacation fund", "SAVINGS", Some(ana), at(13));
        spec.parent = Some(ana_sav);
        let ana_trip = self.account(spec);
        self.asset(ana_trip.0, "EUR", "800.00", "0.00", None, at(13));

        let mut spec = AccountSpec::new("John crypto", "CRYPTO", Some(john), at(20));
        spec.alias = Some("johnc".into());
        spec.external_id = Some("acc-john-crypto".into());
        spec.project = Some(retail);
        let john_c = self.account(spec);
        let btc = self.asset(john_c.0, "BTC", "0.51234567", "0.00000000", None, at(20));
        self.wallet(btc, "bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(), at(20));
        let eth = self.asset(john_c.0, "ETH", "2.345678901234567890", "0.100000000000000000", None, at(20));
        self.wallet(eth, "ethereum", Seeder::evm_address("john-eth"), at(21));
        self.wallet(eth, "polygon", Seeder::evm_address("john-polygon"), at(21));
        self.card(john_c.0, "John travel card", 4_000_003, mm_yy_after(today, 0), at(21));
        let mut spec = AccountSpec::new("John old savings", "SAVINGS", Some(john), at(22));
        spec.status = AccountStatus::Inactive;
        let john_old = self.account(spec);
        self.asset(john_old.0, "USD", "0.00", "0.00", None, at(22));

        let mut spec = AccountSpec::new("Mei wallet", "STABLECOINS", Some(mei), at(30));
        spec.status = AccountStatus::Pending;
        spec.external_id = Some("acc-mei-usdc".into());
        let mei_w = self.account(spec);
        let usdc = self.asset(mei_w.0, "USDC", "250.000000", "0.000000", None, at(30));
        self.wallet(usdc, "ethereum", Seeder::evm_address("mei-eth"), at(30));
        self.wallet(usdc, "tron", demo_address("tron", b"mei-tron"), at(30));

        let mut spec = AccountSpec::new("Acme operating", "BUSINESS", Some(acme), at(40));
        spec.alias = Some("acme-ops".into());
        spec.external_id = Some("acc-acme-ops".into());
        spec.project = Some(treasury);
        spec.metadata = serde_json::json!({"segment": "enterprise", "tier": 1});
        let acme_ops = self.account(spec);
        self.asset(acme_ops.0, "USD", "125000.00", "2500.00", Some("GB82WEST12345698765432"), at(40));
        self.asset(acme_ops.0, "EUR", "40000.00", "0.00", None, at(40));
        self.card(acme_ops.0, "Acme corporate", 4_000_004, mm_yy_after(today, 36), at(41));
        let mut spec = AccountSpec::new("Acme payroll", "DEPOSIT", Some(acme), at(42));
        spec.parent = Some(acme_ops);
        spec.project = Some(treasury);
        let payroll = self.account(spec);
        self.asset(payroll.0, "USD", "30000.00", "0.00", None, at(42));
        let mut spec = AccountSpec::new("Acme payroll Q4", "DEPOSIT", Some(acme), at(43));
        spec.parent = Some(payroll);
        let q4 = self.account(spec);
        self.asset(q4.0, "USD", "7500.50", "0.00", None, at(43));
        let mut spec = AccountSpec::new("Acme FX", "DEPOSIT", Some(acme), at(44));
        spec.parent = Some(acme_ops);
        let fx = self.account(spec);
        self.asset(fx.0, "BRL", "10000.00", "0.00", None, at(44));

        let mut spec = AccountSpec::new("Blue River settlement", "BUSINESS", Some(river), at(50));
        spec.status = AccountStatus::Blocked;
        spec.external_id = Some("acc-river-settle".into());
        let river_s = self.account(spec);
        let usdc = self.asset(river_s.0, "USDC", "98000.000000", "1200.000000", None, at(50));
        self.wallet(usdc, "polygon", Seeder::evm_address("river-polygon"), at(50));

        for (i, (role, cur, ty)) in
            [("OMNIBUS", "USD", "USD"), ("FEE_PAYER", "ETH", "ETH"), ("RESERVE", "USDC", "USDC")]
                .into_iter()
                .enumerate()
        {
            let mut spec = AccountSpec::new(format!("{role} {cur}"), "SYSTEM", None, at(60 + i as i64));
            spec.system_role = Some((role, cur));
            let sys = self.account(spec);
            self.asset(sys.0, ty, "0", "0", None, at(60));
        }
    }

    /// `n` generated accounts: a client per two accounts, one to three
    /// assets each, wallets on crypto assets, a card on every fifth.
    fn generate(&mut self, n: usize) {
        let start = self.today - Duration::days(365);
        let codes = ["USD", "EUR", "BRL", "BTC", "ETH", "USDC"];
        let types = ["PERSONAL", "BUSINESS", "DEPOSIT", "SAVINGS", "CRYPTO", "STABLECOINS"];
        let mut owner = Uuid::nil();
        let mut last_top: Option<(Uuid, i32)> = None;
        let base = self.next_uid;
        for i in 0..n {
            let at = start + Duration::seconds(i as i64 * 7);
            let tag = base + i as i64;
            if i % 2 == 0 {
                let kind = if i % 10 == 0 { "BUSINESS" } else { "PERSON" };
                owner = self.client(
                    &format!("Client {tag}"),
                    &format!("client{tag}@example.com"),
                    &format!("gen-cli-{tag}"),
                    kind,
                    at,
                );
            }
            let mut spec = AccountSpec::new(format!("Account {tag}"), types[i % types.len()], Some(owner), at);
            spec.external_id = Some(format!("gen-acc-{tag}"));
            spec.project = Some(self.catalog.projects[i % self.catalog.projects.len()]);
            use AccountStatus::{Active, Inactive, Pending};
            spec.status = [Active, Active, Active, Pending, Inactive][i % 5];
            // Every second account of a client is a sub-account of its first.
            if i % 2 == 1 {
                spec.parent = last_top;
            }
            let id = self.account(spec);
            if i % 2 == 0 {
                last_top = Some(id);
            }
            for k in 0..(1 + i % 3) {
                let code = codes[(i + k) % codes.len()];
                let amount = format!("{}.{:02}", (i * 37 + k * 11) % 100_000, i % 100);
                let asset = self.asset(id.0, code, &amount, "0", None, at);
                match code {
                    "BTC" => {
                        self.wallet(asset, "bitcoin", demo_address("bitcoin", format!("b{tag}{k}").as_bytes()), at)
                    }
                    "ETH" | "USDC" => self.wallet(asset, "ethereum", Seeder::evm_address(&format!("e{tag}{k}")), at),
                    _ => {}
                }
            }
            if i % 5 == 0 {
                self.card(id.0, "Debit card", 5_000_000 + tag as u64, mm_yy_after(at, 36), at);
            }
        }
    }
}

/// Loads the demo set (unless the organization has it already) and `extra`
/// generated accounts into `org_name`'s organization, in one transaction.
/// Dates are relative to `today` (the demo set's travel card, for one,
/// expires at the end of `today`'s month).
pub async fn seed<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    org_name: &str,
    extra: usize,
    card_key: &[u8],
    today: DateTime<Utc>,
) -> AppResult<SeedReport> {
    let tx = db.begin().await?;
    let org = organizations::ensure(&tx, org_name).await?;
    let today = today.trunc_subsecs(6);
    let catalog = ensure_catalog(&tx, org.id, today).await?;
    let has_demo = account::Entity::find()
        .filter(account::Column::OrganizationId.eq(org.id))
        .filter(account::Column::ExternalId.eq("acc-ana-main"))
        .count(&tx)
        .await?
        > 0;
    let mut seeder = Seeder { org: org.id, today, next_uid: 0, card_key, catalog, batch: Batch::default() };
    if !has_demo {
        seeder.demo();
    }
    // Reserve every uid in one statement, then number the demo rows and
    // let the generator continue from there.
    let demo_count = seeder.batch.accounts.len() as i64;
    let first = organizations::reserve_uids(&tx, org.id, demo_count + extra as i64).await?;
    for (offset, row) in seeder.batch.accounts.iter_mut().enumerate() {
        let uid = first + offset as i64;
        row.uid = Set(uid);
        row.account_number = Set(account_number(uid));
    }
    seeder.next_uid = first + demo_count;
    seeder.generate(extra);
    let report = seeder.batch.flush(&tx).await?;
    crate::service::journal::backfill(&tx).await?;
    tx.commit().await?;
    // Fresh statistics after a bulk load: without them PostgreSQL plans
    // the page query as a scan and sort of every account (10x slower).
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(report)
}
