//! Demo data: a small, realistic set for exploring, and generated volume for
//! benchmarks. Rows are built in memory and written in multi-row inserts
//! inside one transaction, which is what makes 100,000 accounts take seconds.

use crate::domain::account_number::account_number;
use crate::domain::address::demo_address;
use crate::domain::cards::{fingerprint, luhn_check_digit, mm_yy_after};
use crate::domain::commands::{NewAccount, NewAccountType, NewCard, NewClient, NewCurrency, NewNetwork};
use crate::domain::{AccountStatus, AssetStatus, ClientKind, CurrencyType, SystemRole};
use crate::error::AppResult;
use crate::service::bulk_insert::BulkRows;
use crate::service::organizations;
use crate::service::rows::{self, AccountRefs};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use entity::{account, account_type, currency, currency_network, network, project, Amount};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    TransactionSession, TransactionTrait,
};
use std::collections::HashMap;
use std::str::FromStr;
use uuid::Uuid;

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

const TYPES: &[(&str, &str, Option<CurrencyType>)] = &[
    ("PERSONAL", "Personal", None),
    ("BUSINESS", "Business", None),
    ("DEPOSIT", "Deposit", Some(CurrencyType::Fiat)),
    ("SAVINGS", "Savings", Some(CurrencyType::Fiat)),
    ("CRYPTO", "Crypto", Some(CurrencyType::Crypto)),
    ("STABLECOINS", "Stablecoins", Some(CurrencyType::Crypto)),
    ("SYSTEM", "System", None),
];
const CURRENCIES: &[(&str, &str, &str, CurrencyType, i32)] = &[
    ("USD", "US Dollar", "$", CurrencyType::Fiat, 2),
    ("EUR", "Euro", "€", CurrencyType::Fiat, 2),
    ("BRL", "Brazilian Real", "R$", CurrencyType::Fiat, 2),
    ("BTC", "Bitcoin", "₿", CurrencyType::Crypto, 8),
    ("ETH", "Ethereum", "Ξ", CurrencyType::Crypto, 18),
    ("USDC", "USD Coin", "USDC", CurrencyType::Crypto, 6),
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

/// One account to create: the command a client would send, plus what the
/// seeder decides itself (its parent, a system role, when it was made).
struct AccountSpec {
    cmd: NewAccount,
    parent: Option<(Uuid, i32)>,
    system_role: Option<(SystemRole, &'static str)>,
    created_at: DateTime<Utc>,
}

impl AccountSpec {
    fn new(name: impl Into<String>, type_code: &str, owner: Option<Uuid>, created_at: DateTime<Utc>) -> Self {
        let cmd = NewAccount {
            name: name.into(),
            account_type: type_code.to_owned(),
            owner_id: owner,
            status: AccountStatus::Active,
            ..NewAccount::default()
        };
        AccountSpec { cmd, parent: None, system_role: None, created_at }
    }
}

struct Seeder<'k> {
    org: Uuid,
    /// The instant the data set is made at: demo dates count back from it.
    today: DateTime<Utc>,
    next_uid: i64,
    card_key: &'k [u8],
    catalog: Catalog,
    batch: BulkRows,
    /// Owners given a main account: their first top-level one, as
    /// `createAccount` keeps one main account per owner.
    mains: std::collections::HashSet<Uuid>,
}

fn dec(text: &str) -> Amount {
    Amount(Decimal::from_str(text).unwrap_or_default())
}

impl Seeder<'_> {
    fn client(&mut self, name: &str, email: &str, ext: &str, kind: ClientKind, at: DateTime<Utc>) -> AppResult<Uuid> {
        let cmd = NewClient { name: name.into(), email: Some(email.into()), external_id: Some(ext.into()), kind };
        let row = rows::client(self.org, &cmd.check()?, at);
        let id = *row.id.as_ref();
        self.batch.clients.push(row);
        Ok(id)
    }

    /// The account's row, its id and depth. Client accounts pass the same
    /// checks as `createAccount`; the seeder resolves their references
    /// itself, from the rows it is about to write.
    fn account(&mut self, spec: AccountSpec) -> AppResult<(Uuid, i32)> {
        let uid = self.next_uid;
        self.next_uid += 1;
        let type_id = self.catalog.types.get(spec.cmd.account_type.as_str()).copied().unwrap_or_default();
        let row = match spec.system_role {
            Some((role, cur)) => rows::system_account(self.org, uid, type_id, role, Some(cur), spec.created_at),
            None => {
                let mut cmd = spec.cmd;
                let reason = !matches!(cmd.status, AccountStatus::Active | AccountStatus::Pending);
                cmd.main = spec.parent.is_none() && cmd.owner_id.is_some_and(|o| self.mains.insert(o));
                let owner_id = cmd.owner_id.unwrap_or_default();
                let refs = AccountRefs { type_id, owner_id, parent: spec.parent, custody_bank_account: None };
                let mut row = rows::client_account(self.org, uid, &cmd.check()?, refs, spec.created_at);
                row.status_reason_code = Set(reason.then(|| "other".to_owned()));
                row
            }
        };
        let id = *row.id.as_ref();
        let depth = *row.depth.as_ref();
        self.batch.accounts.push(row);
        Ok((id, depth))
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
        let mut row = rows::asset(self.org, account, currency, AssetStatus::Active, at);
        let id = *row.id.as_ref();
        row.available = Set(dec(available));
        row.on_hold = Set(dec(on_hold));
        row.address = Set(address.map(str::to_owned));
        self.batch.assets.push(row);
        id
    }

    fn wallet(&mut self, asset: Uuid, network: &str, address: String, at: DateTime<Utc>) {
        let network = self.catalog.networks.get(network).copied().unwrap_or_default();
        self.batch.wallets.push(rows::wallet(self.org, asset, network, address, at));
    }

    /// A card with a Luhn-valid number from `seed`. Not through
    /// `NewCard::check`: the demo set holds an expired card on purpose.
    fn card(&mut self, account: Uuid, name: &str, seed: u64, expiry: String, at: DateTime<Utc>) {
        let payload = format!("4{:014}", seed % 100_000_000_000_000);
        let card_number = format!("{payload}{}", luhn_check_digit(&payload));
        let print = fingerprint(self.card_key, &card_number);
        let cmd = NewCard { name: name.to_owned(), card_number, expiration_date: expiry };
        self.batch.cards.push(rows::card(self.org, account, &cmd, print, at));
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
                let cmd = NewAccountType { code: (*code).into(), name: (*name).into(), category: *category };
                rows::account_type(org, &cmd.check()?, at).insert(db).await?.id
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
                let cmd = NewCurrency {
                    code: (*code).into(),
                    name: (*name).into(),
                    symbol: (*symbol).into(),
                    currency_type: *kind,
                    decimals: *decimals,
                    networks: Vec::new(),
                };
                created_currencies.push(*code);
                rows::currency(org, &cmd.check()?, at).insert(db).await?.id
            }
        };
        catalog.currencies.insert(code, id);
    }
    let existing = network::Entity::find().filter(network::Column::OrganizationId.eq(org)).all(db).await?;
    for (code, name, pattern) in NETWORKS {
        let id = match existing.iter().find(|n| n.code == *code) {
            Some(n) => n.id,
            None => {
                let cmd = NewNetwork {
                    code: (*code).into(),
                    name: (*name).into(),
                    address_pattern: Some((*pattern).into()),
                    address_family: None,
                };
                rows::network(org, &cmd.check()?, at).insert(db).await?.id
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
            None => rows::project(org, name.to_owned(), at).insert(db).await?.id,
        };
        catalog.projects.push(id);
    }
    Ok(catalog)
}

impl Seeder<'_> {
    /// The hand-written demo set: every kind of account and nesting.
    fn demo(&mut self) -> AppResult<()> {
        let today = self.today;
        let t0 = today - Duration::days(30);
        let at = |mins: i64| t0 + Duration::minutes(mins);
        let ana = self.client("Ana Souza", "ana.souza@example.com", "cli-ana", ClientKind::Person, at(0))?;
        let john = self.client("John Doe", "john.doe@example.com", "cli-john", ClientKind::Person, at(1))?;
        let mei = self.client("Mei Tanaka", "mei.tanaka@example.com", "cli-mei", ClientKind::Person, at(2))?;
        let acme = self.client("Acme Trading Ltd", "finance@acme.example", "cli-acme", ClientKind::Business, at(3))?;
        let river =
            self.client("Blue River Payments", "ops@blueriver.example", "cli-blueriver", ClientKind::Business, at(4))?;
        let (retail, treasury) = (self.catalog.projects[0], self.catalog.projects[1]);

        let mut spec = AccountSpec::new("Ana personal", "PERSONAL", Some(ana), at(10));
        spec.cmd.alias = Some("ana".into());
        spec.cmd.external_id = Some("acc-ana-main".into());
        spec.cmd.project_id = Some(retail);
        spec.cmd.metadata = serde_json::json!({"segment": "retail", "tier": 1, "vip": false});
        let ana_main = self.account(spec)?;
        self.asset(ana_main.0, "USD", "1520.75", "20.00", Some("DE89370400440532013000"), at(10));
        self.asset(ana_main.0, "BRL", "3200.00", "0.00", Some("BR1800360305000010009795493C1"), at(10));
        self.card(ana_main.0, "Ana debit", 4_000_001, mm_yy_after(today, 24), at(11));
        self.card(ana_main.0, "Ana old card", 4_000_002, mm_yy_after(today, -2), at(11));
        let mut spec = AccountSpec::new("Ana savings", "SAVINGS", Some(ana), at(12));
        spec.parent = Some(ana_main);
        let ana_sav = self.account(spec)?;
        self.asset(ana_sav.0, "USD", "5000.00", "0.00", None, at(12));
        let mut spec = AccountSpec::new("Ana vacation fund", "SAVINGS", Some(ana), at(13));
        spec.parent = Some(ana_sav);
        let ana_trip = self.account(spec)?;
        self.asset(ana_trip.0, "EUR", "800.00", "0.00", None, at(13));

        let mut spec = AccountSpec::new("John crypto", "CRYPTO", Some(john), at(20));
        spec.cmd.alias = Some("johnc".into());
        spec.cmd.external_id = Some("acc-john-crypto".into());
        spec.cmd.project_id = Some(retail);
        let john_c = self.account(spec)?;
        let btc = self.asset(john_c.0, "BTC", "0.51234567", "0.00000000", None, at(20));
        self.wallet(btc, "bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(), at(20));
        let eth = self.asset(john_c.0, "ETH", "2.345678901234567890", "0.100000000000000000", None, at(20));
        self.wallet(eth, "ethereum", Seeder::evm_address("john-eth"), at(21));
        self.wallet(eth, "polygon", Seeder::evm_address("john-polygon"), at(21));
        self.card(john_c.0, "John travel card", 4_000_003, mm_yy_after(today, 0), at(21));
        let mut spec = AccountSpec::new("John old savings", "SAVINGS", Some(john), at(22));
        spec.cmd.status = AccountStatus::Inactive;
        let john_old = self.account(spec)?;
        self.asset(john_old.0, "USD", "0.00", "0.00", None, at(22));

        let mut spec = AccountSpec::new("Mei wallet", "STABLECOINS", Some(mei), at(30));
        spec.cmd.status = AccountStatus::Pending;
        spec.cmd.external_id = Some("acc-mei-usdc".into());
        let mei_w = self.account(spec)?;
        let usdc = self.asset(mei_w.0, "USDC", "250.000000", "0.000000", None, at(30));
        self.wallet(usdc, "ethereum", Seeder::evm_address("mei-eth"), at(30));
        self.wallet(usdc, "tron", demo_address("tron", b"mei-tron"), at(30));

        let mut spec = AccountSpec::new("Acme operating", "BUSINESS", Some(acme), at(40));
        spec.cmd.alias = Some("acme-ops".into());
        spec.cmd.external_id = Some("acc-acme-ops".into());
        spec.cmd.project_id = Some(treasury);
        spec.cmd.metadata = serde_json::json!({"segment": "enterprise", "tier": 1});
        let acme_ops = self.account(spec)?;
        self.asset(acme_ops.0, "USD", "125000.00", "2500.00", Some("GB82WEST12345698765432"), at(40));
        self.asset(acme_ops.0, "EUR", "40000.00", "0.00", None, at(40));
        self.card(acme_ops.0, "Acme corporate", 4_000_004, mm_yy_after(today, 36), at(41));
        let mut spec = AccountSpec::new("Acme payroll", "DEPOSIT", Some(acme), at(42));
        spec.parent = Some(acme_ops);
        spec.cmd.project_id = Some(treasury);
        let payroll = self.account(spec)?;
        self.asset(payroll.0, "USD", "30000.00", "0.00", None, at(42));
        let mut spec = AccountSpec::new("Acme payroll Q4", "DEPOSIT", Some(acme), at(43));
        spec.parent = Some(payroll);
        let q4 = self.account(spec)?;
        self.asset(q4.0, "USD", "7500.50", "0.00", None, at(43));
        let mut spec = AccountSpec::new("Acme FX", "DEPOSIT", Some(acme), at(44));
        spec.parent = Some(acme_ops);
        let fx = self.account(spec)?;
        self.asset(fx.0, "BRL", "10000.00", "0.00", None, at(44));

        let mut spec = AccountSpec::new("Blue River settlement", "BUSINESS", Some(river), at(50));
        spec.cmd.status = AccountStatus::Blocked;
        spec.cmd.external_id = Some("acc-river-settle".into());
        let river_s = self.account(spec)?;
        let usdc = self.asset(river_s.0, "USDC", "98000.000000", "1200.000000", None, at(50));
        self.wallet(usdc, "polygon", Seeder::evm_address("river-polygon"), at(50));

        for (i, (role, cur)) in
            [(SystemRole::Omnibus, "USD"), (SystemRole::FeePayer, "ETH"), (SystemRole::Reserve, "USDC")]
                .into_iter()
                .enumerate()
        {
            let mut spec = AccountSpec::new("", "SYSTEM", None, at(60 + i as i64));
            spec.system_role = Some((role, cur));
            let sys = self.account(spec)?;
            self.asset(sys.0, cur, "0", "0", None, at(60));
        }
        Ok(())
    }

    /// `n` generated accounts: a client per two accounts, one to three
    /// assets each, wallets on crypto assets, a card on every fifth.
    fn generate(&mut self, n: usize) -> AppResult<()> {
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
                let kind = if i % 10 == 0 { ClientKind::Business } else { ClientKind::Person };
                owner = self.client(
                    &format!("Client {tag}"),
                    &format!("client{tag}@example.com"),
                    &format!("gen-cli-{tag}"),
                    kind,
                    at,
                )?;
            }
            let mut spec = AccountSpec::new(format!("Account {tag}"), types[i % types.len()], Some(owner), at);
            spec.cmd.external_id = Some(format!("gen-acc-{tag}"));
            spec.cmd.project_id = Some(self.catalog.projects[i % self.catalog.projects.len()]);
            use AccountStatus::{Active, Inactive, Pending};
            spec.cmd.status = [Active, Active, Active, Pending, Inactive][i % 5];
            // Every second account of a client is a sub-account of its first.
            if i % 2 == 1 {
                spec.parent = last_top;
            }
            let id = self.account(spec)?;
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
        Ok(())
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
    let mut seeder = Seeder {
        org: org.id,
        today,
        next_uid: 0,
        card_key,
        catalog,
        batch: BulkRows::default(),
        mains: Default::default(),
    };
    if !has_demo {
        seeder.demo()?;
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
    seeder.generate(extra)?;
    let report = SeedReport { accounts: seeder.batch.accounts.len(), assets: seeder.batch.assets.len() };
    seeder.batch.insert(&tx).await?;
    crate::service::journal::backfill(&tx).await?;
    tx.commit().await?;
    // Fresh statistics after a bulk load: without them PostgreSQL plans
    // the page query as a scan and sort of every account (10x slower).
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(report)
}
