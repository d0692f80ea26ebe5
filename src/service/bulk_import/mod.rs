//! `accounts-gateway import FILE --org NAME`: accounts with their assets,
//! balances and wallets from a file `export` wrote (or one of the same
//! shape), in batches of multi-row inserts, one transaction per batch.
//!
//! A re-run resumes: an account the organization already has is skipped
//! and counted. It is recognized by its external id; a system account by
//! its role and currency; a client account without an external id by its
//! owner, parent and name. A row that breaks a rule is reported with its
//! line and reason and written nowhere; the rest go on. Cards are not
//! imported: an export carries no card numbers, only their last digits.

pub mod reader;
pub mod record;

use crate::domain::balance::Balance;
use crate::domain::commands::{Checked, NewAccount, NewAccountType, NewClient, NewCurrency, NewNetwork, SYSTEM_TYPE};
use crate::domain::{address, validate, AddressFamily, BalanceCause, CurrencyType};
use crate::error::{AppError, AppResult, FieldIssue};
use crate::service::account_write::{self, MAX_LEVELS};
use crate::service::bulk_insert::BulkRows;
use crate::service::{organizations, rows};
use chrono::{DateTime, SubsecRound, Utc};
use entity::{account, account_type, client, currency, currency_network, network, wallet};
use reader::Rows;
use record::{AssetRecord, Holder, OwnerRef, ParentRef, Record};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Accounts per batch (and per transaction). Each batch costs a fixed
/// number of lookups and inserts, and over TCP every PostgreSQL statement
/// pays a round trip: larger batches cut the statements (a batch's lists
/// of keys stay well under SQLite's 32,766 bound parameters).
const BATCH: usize = 5_000;

/// A row written nowhere, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The line of the file the account starts on.
    pub line: u64,
    /// What is wrong, with the field at fault (`assets.0.available: ...`).
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Accounts created.
    pub created: u64,
    /// Accounts the organization already had.
    pub skipped: u64,
    /// Rows refused.
    pub rejected: Vec<Rejected>,
}

/// Where an account of the file ended up: for its sub-accounts.
#[derive(Clone, Copy)]
struct Placed {
    id: Uuid,
    depth: i32,
    owner: Option<Uuid>,
}

impl From<&account::Model> for Placed {
    fn from(a: &account::Model) -> Self {
        Placed { id: a.id, depth: a.depth, owner: a.owner_id }
    }
}

/// One line of the reason a row is refused.
fn reason(e: &AppError) -> String {
    match e {
        AppError::Validation { details, .. }
        | AppError::Conflict { details, .. }
        | AppError::NotFound { details, .. }
            if !details.is_empty() =>
        {
            let issues: Vec<String> =
                details.iter().map(|FieldIssue { field, message }| format!("{field}: {message}")).collect();
            issues.join("; ")
        }
        other => other.to_string(),
    }
}

/// What becomes of one row.
enum Outcome {
    /// New: the account's row, and its owner's when the owner is new too.
    New(Box<(account::ActiveModel, Option<client::ActiveModel>)>),
    /// The organization has it (found here when sub-accounts may need it).
    Exists(Option<Placed>),
}

/// What the organization already has that a batch's rows may meet.
#[derive(Default)]
struct Existing {
    by_external_id: HashMap<String, account::Model>,
    system_keys: HashSet<String>,
    /// Live client accounts without external id by (owner, parent, name).
    unnamed: HashMap<(Uuid, Option<Uuid>, String), Placed>,
    aliases: HashSet<String>,
    wallets: HashSet<(Uuid, String)>,
}

/// The importer's state across batches.
struct Importer<'a> {
    org: Uuid,
    actor: &'a str,
    now: DateTime<Utc>,
    types: HashMap<String, Uuid>,
    currencies: HashMap<String, currency::Model>,
    networks: HashMap<String, network::Model>,
    links: HashSet<(Uuid, Uuid)>,
    /// Accounts of the file by their number there.
    placed: HashMap<String, Placed>,
    /// Clients by external id, and those without one by name and email.
    clients: HashMap<String, Uuid>,
    unnamed_clients: HashMap<(String, Option<String>), Uuid>,
    /// Owners that have a main account.
    with_main: HashSet<Uuid>,
    /// External ids, aliases and wallets the file has used, to refuse a
    /// second use before the database would.
    external_ids: HashMap<String, u64>,
    aliases: HashSet<String>,
    wallets: HashSet<(Uuid, String)>,
    report: ImportReport,
}

impl<'a> Importer<'a> {
    async fn new<C: ConnectionTrait>(db: &C, org: Uuid, actor: &'a str) -> AppResult<Importer<'a>> {
        let types = account_type::Entity::find().filter(account_type::Column::OrganizationId.eq(org)).all(db).await?;
        let currencies = currency::Entity::find().filter(currency::Column::OrganizationId.eq(org)).all(db).await?;
        let networks = network::Entity::find().filter(network::Column::OrganizationId.eq(org)).all(db).await?;
        let links =
            currency_network::Entity::find().filter(currency_network::Column::OrganizationId.eq(org)).all(db).await?;
        Ok(Importer {
            org,
            actor,
            now: crate::service::now(),
            types: types.into_iter().map(|t| (t.code.clone(), t.id)).collect(),
            currencies: currencies.into_iter().map(|c| (c.code.clone(), c)).collect(),
            networks: networks.into_iter().map(|n| (n.code.clone(), n)).collect(),
            links: links.into_iter().map(|l| (l.currency_id, l.network_id)).collect(),
            placed: HashMap::new(),
            clients: HashMap::new(),
            unnamed_clients: HashMap::new(),
            with_main: HashSet::new(),
            external_ids: HashMap::new(),
            aliases: HashSet::new(),
            wallets: HashSet::new(),
            report: ImportReport::default(),
        })
    }

    /// Creates the account types, currencies and networks the rows name
    /// and the organization lacks: types and networks from their codes,
    /// currencies from the type and decimals the file gives.
    async fn ensure_catalog<C: ConnectionTrait>(&mut self, db: &C, records: &[(u64, Record)]) -> AppResult<()> {
        for (_, r) in records {
            if matches!(r.holder, Holder::System { .. }) && !self.types.contains_key(SYSTEM_TYPE) {
                let id = account_write::system_type(db, self.org, self.now).await?;
                self.types.insert(SYSTEM_TYPE.to_owned(), id);
            }
            if let Holder::Client { account, .. } = &r.holder {
                if !self.types.contains_key(&account.account_type) {
                    let code = account.account_type.clone();
                    let cmd = NewAccountType { name: code.clone(), code, category: None }.check()?;
                    let row = rows::account_type(self.org, &cmd, self.now).insert(db).await?;
                    self.types.insert(row.code.clone(), row.id);
                }
            }
            for a in &r.assets {
                if let (None, Some(kind), Some(decimals)) =
                    (self.currencies.get(&a.asset.currency), a.currency_type, a.decimals)
                {
                    let code = a.asset.currency.clone();
                    let cmd = NewCurrency {
                        name: code.clone(),
                        symbol: code.clone(),
                        code,
                        currency_type: kind,
                        decimals,
                        networks: Vec::new(),
                    };
                    // A currency the file describes wrongly stays absent and
                    // its rows are refused by name below.
                    if let Ok(cmd) = cmd.check() {
                        let row = rows::currency(self.org, &cmd, self.now).insert(db).await?;
                        self.currencies.insert(row.code.clone(), row);
                    }
                }
                for (w, _) in &a.wallets {
                    if !self.networks.contains_key(&w.network) {
                        let cmd = NewNetwork {
                            code: w.network.clone(),
                            name: w.network.clone(),
                            address_pattern: None,
                            address_family: None,
                        };
                        if let Ok(cmd) = cmd.check() {
                            let row = rows::network(self.org, &cmd, self.now).insert(db).await?;
                            self.networks.insert(row.code.clone(), row);
                        }
                    }
                    if let (Some(c), Some(n)) = (self.currencies.get(&a.asset.currency), self.networks.get(&w.network))
                    {
                        if self.links.insert((c.id, n.id)) {
                            let link = currency_network::ActiveModel {
                                currency_id: Set(c.id),
                                network_id: Set(n.id),
                                organization_id: Set(self.org),
                            };
                            link.insert(db).await?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads what the organization already has that these rows may meet:
    /// a fixed number of statements per batch.
    async fn existing<C: ConnectionTrait>(&mut self, db: &C, records: &[(u64, Record)]) -> AppResult<Existing> {
        let mut ext_ids = Vec::new();
        let (mut owner_ids, mut aliases, mut addresses, mut system_keys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (_, r) in records {
            match &r.holder {
                Holder::Client { account, owner, parent } => {
                    ext_ids.extend(account.external_id.clone());
                    ext_ids.extend(parent.as_ref().and_then(|p| p.external_id.clone()));
                    aliases.extend(account.alias.clone());
                    owner_ids.extend(owner.external_id.clone());
                }
                Holder::System { role, currency } => system_keys.push(rows::system_key(*role, currency.as_deref())),
            }
            // Both as written and in the stored form (EVM lower-case).
            let written = r.assets.iter().flat_map(|a| a.wallets.iter().map(|(w, _)| w.address.as_str()));
            addresses.extend(written.flat_map(|w| [w.to_owned(), address::lookup_form(w)]));
        }
        let org = self.org;
        let in_org = account::Column::OrganizationId.eq(org);
        let mut found = Existing::default();
        if !ext_ids.is_empty() {
            let rows = account::Entity::find()
                .filter(in_org.clone())
                .filter(account::Column::ExternalId.is_in(ext_ids))
                .all(db)
                .await?;
            found.by_external_id = rows.into_iter().filter_map(|a| Some((a.external_id.clone()?, a))).collect();
        }
        if !system_keys.is_empty() {
            let rows = account::Entity::find()
                .filter(in_org.clone())
                .filter(account::Column::SystemKey.is_in(system_keys))
                .all(db)
                .await?;
            found.system_keys = rows.into_iter().filter_map(|a| a.system_key).collect();
        }
        let unknown: Vec<String> = owner_ids.iter().filter(|e| !self.clients.contains_key(*e)).cloned().collect();
        if !unknown.is_empty() {
            let rows = client::Entity::find()
                .filter(client::Column::OrganizationId.eq(org))
                .filter(client::Column::ExternalId.is_in(unknown))
                .all(db)
                .await?;
            self.clients.extend(rows.into_iter().filter_map(|c| Some((c.external_id?, c.id))));
        }
        let owners: HashSet<Uuid> = owner_ids.iter().filter_map(|e| self.clients.get(e).copied()).collect();
        let owners: Vec<Uuid> = owners.into_iter().collect();
        if !owners.is_empty() {
            let rows = account::Entity::find()
                .filter(in_org.clone())
                .filter(account::Column::OwnerId.is_in(owners))
                .filter(account::Column::DeletedAt.is_null())
                .all(db)
                .await?;
            for a in rows {
                let Some(owner) = a.owner_id else { continue };
                if a.main {
                    self.with_main.insert(owner);
                }
                if a.external_id.is_none() {
                    let placed = Placed::from(&a);
                    found.unnamed.insert((owner, a.parent_id, a.name), placed);
                }
            }
        }
        if !aliases.is_empty() {
            let rows =
                account::Entity::find().filter(in_org).filter(account::Column::Alias.is_in(aliases)).all(db).await?;
            found.aliases = rows.into_iter().filter_map(|a| a.alias).collect();
        }
        if !addresses.is_empty() {
            let rows = wallet::Entity::find()
                .filter(wallet::Column::OrganizationId.eq(org))
                .filter(wallet::Column::Address.is_in(addresses))
                .all(db)
                .await?;
            found.wallets = rows.into_iter().map(|w| (w.network_id, w.address)).collect();
        }
        Ok(found)
    }

    /// The parent of a sub-account: placed earlier in the file, or the
    /// organization's account of that external id.
    fn parent(&self, parent: &ParentRef, found: &Existing, owner: Option<Uuid>) -> AppResult<Placed> {
        let in_file = parent.account_number.as_ref().and_then(|n| self.placed.get(n)).copied();
        let in_org = || {
            let a = parent.external_id.as_ref().and_then(|e| found.by_external_id.get(e))?;
            Some(if a.deleted_at.is_some() {
                Err(AppError::not_allowed("the parent account is deleted"))
            } else {
                Ok(Placed::from(a))
            })
        };
        let p = match in_file {
            Some(p) => p,
            None => in_org().transpose()?.ok_or_else(|| {
                AppError::missing("parent", "parent account (it must come before its sub-accounts in the file)")
            })?,
        };
        if owner.is_some() && p.owner != owner {
            return Err(AppError::invalid("parent", "the parent account belongs to another owner"));
        }
        if p.depth + 1 >= MAX_LEVELS {
            return Err(AppError::invalid("parent", format!("sub-accounts nest at most {MAX_LEVELS} levels")));
        }
        Ok(p)
    }

    /// The client of `owner`, and its new row when the organization has
    /// no such client yet (created only once the account is accepted).
    fn owner(&self, owner: &OwnerRef) -> AppResult<(Uuid, Option<client::ActiveModel>)> {
        let known = match &owner.external_id {
            Some(e) => self.clients.get(e),
            None => self.unnamed_clients.get(&(owner.name.clone(), owner.email.clone())),
        };
        if let Some(id) = known {
            return Ok((*id, None));
        }
        let cmd = NewClient {
            name: owner.name.clone(),
            email: owner.email.clone(),
            external_id: owner.external_id.clone(),
            kind: owner.kind,
        };
        let row = rows::client(self.org, &cmd.check().map_err(|e| e.within("owner", &[]))?, self.now);
        Ok((*row.id.as_ref(), Some(row)))
    }

    /// An asset's rows, checked against its currency and the wallets known.
    fn asset_rows(
        &self,
        account: Uuid,
        a: &AssetRecord,
        at: DateTime<Utc>,
        batch: &mut BulkRows,
        found: &Existing,
    ) -> AppResult<()> {
        let cur = self.currencies.get(&a.asset.currency).ok_or_else(|| {
            AppError::invalid(
                "currency",
                format!(
                    "{} is not a currency of the organization, and the file does not give its type and decimals",
                    a.asset.currency
                ),
            )
        })?;
        let [available, on_hold, future] = a.balances;
        let credit = validate::amount("creditLimit", a.asset.credit_limit, cur.decimals, false)?;
        let balances = [
            validate::amount("available", available, cur.decimals, true)?,
            validate::amount("onHold", on_hold, cur.decimals, true)?,
            validate::amount("future", future, cur.decimals, true)?,
        ];
        Balance { available: 0.into(), on_hold: 0.into(), future: 0.into() }.adjusted(balances, credit)?;
        let address = match a.asset.address.as_deref() {
            Some(addr) if CurrencyType::parse(&cur.currency_type)? == CurrencyType::Fiat => {
                Some(validate::iban("address", addr)?)
            }
            Some(addr) => Some(validate::text("address", addr, 128)?),
            None => None,
        };
        let mut row = rows::asset(self.org, account, cur.id, a.status, at);
        row.available = Set(entity::Amount(balances[0]));
        row.on_hold = Set(entity::Amount(balances[1]));
        row.future = Set(entity::Amount(balances[2]));
        row.credit_limit = Set(entity::Amount(credit));
        row.address = Set(address);
        row.external_id = Set(a.asset.external_id.clone());
        row.bank = Set(a.asset.bank.clone());
        row.platform = Set(a.asset.platform.clone());
        for (i, (w, active)) in a.wallets.iter().enumerate() {
            let at_wallet = |e: AppError| e.within(&format!("wallets.{i}"), &[]);
            let net = self
                .networks
                .get(&w.network)
                .ok_or_else(|| at_wallet(AppError::invalid("network", "no network with this code")))?;
            let family = AddressFamily::parse(&net.address_family)?;
            let stored = address::check(family, net.address_pattern.as_deref(), &w.address)
                .map_err(|m| at_wallet(AppError::invalid("address", m)))?;
            let key = (net.id, stored.clone());
            let taken = found.wallets.contains(&key)
                || self.wallets.contains(&key)
                || batch.wallets.iter().any(|r| *r.network_id.as_ref() == net.id && *r.address.as_ref() == stored);
            if taken {
                return Err(at_wallet(AppError::conflict("address", "the organization already has this wallet")));
            }
            let mut wrow = rows::wallet(self.org, *row.id.as_ref(), net.id, stored, at);
            wrow.active = Set(*active);
            batch.wallets.push(wrow);
        }
        batch.entries.push(rows::opening_entry(&row, balances, self.actor, BalanceCause::Import));
        batch.assets.push(row);
        Ok(())
    }

    /// The rows of one account into `batch` (the account's own, dropped
    /// when it is refused), or why it is refused; `None` when the
    /// organization has it already.
    fn account_rows(&self, r: &Record, found: &Existing, batch: &mut BulkRows) -> AppResult<Outcome> {
        let at = r.created_at.unwrap_or(self.now).trunc_subsecs(6);
        let (mut row, new_owner) = match &r.holder {
            Holder::System { role, currency } => {
                if found.system_keys.contains(&rows::system_key(*role, currency.as_deref())) {
                    return Ok(Outcome::Exists(None));
                }
                let type_id =
                    self.types.get(SYSTEM_TYPE).copied().ok_or_else(|| {
                        AppError::invalid("systemRole", "the organization has no SYSTEM account type")
                    })?;
                if let Some(c) = currency.as_ref().filter(|c| !self.currencies.contains_key(*c)) {
                    return Err(AppError::invalid(
                        "systemCurrency",
                        format!("{c} is not a currency of the organization"),
                    ));
                }
                (rows::system_account(self.org, 0, type_id, *role, currency.as_deref(), at), None)
            }
            Holder::Client { account, owner, parent } => {
                if let Some(a) = account.external_id.as_ref().and_then(|e| found.by_external_id.get(e)) {
                    return Ok(Outcome::Exists(Some(Placed::from(a))));
                }
                let (owner_id, new_owner) = self.owner(owner)?;
                let parent = parent.as_ref().map(|p| self.parent(p, found, Some(owner_id))).transpose()?;
                let parent_id = parent.map(|p| p.id);
                if account.external_id.is_none() {
                    if let Some(p) = found.unnamed.get(&(owner_id, parent_id, account.name.clone())) {
                        return Ok(Outcome::Exists(Some(*p)));
                    }
                }
                self.client_checks(account, owner_id, found)?;
                let type_id = self
                    .types
                    .get(&account.account_type)
                    .copied()
                    .ok_or_else(|| AppError::missing("type", "account type"))?;
                let refs = rows::AccountRefs {
                    type_id,
                    owner_id,
                    parent: parent.map(|p| (p.id, p.depth)),
                    custody_bank_account: account.custody_bank_account.as_ref().map(|b| b.to_json()),
                };
                (rows::client_account(self.org, 0, account, refs, at), new_owner)
            }
        };
        if let Some((code, description)) = &r.status_reason {
            row.status_reason_code = Set(Some(code.clone()));
            row.status_reason_description = Set(description.clone());
        } else if !matches!(r.holder, Holder::System { .. })
            && row.status.as_ref() != "ACTIVE"
            && row.status.as_ref() != "PENDING"
        {
            row.status_reason_code = Set(Some("other".to_owned()));
        }
        let id = *row.id.as_ref();
        let mut currencies = HashSet::new();
        for (i, a) in r.assets.iter().enumerate() {
            let within = |e: AppError| e.within(&format!("assets.{i}"), &[]);
            if !currencies.insert(a.asset.currency.clone()) {
                let message = format!("the account already has a {} asset", a.asset.currency);
                return Err(within(AppError::conflict("currency", message)));
            }
            self.asset_rows(id, a, at, batch, found).map_err(within)?;
        }
        Ok(Outcome::New(Box::new((row, new_owner))))
    }

    /// What a client account may not repeat: its external id, its alias,
    /// a second main account of its owner.
    fn client_checks(&self, account: &Checked<NewAccount>, owner: Uuid, found: &Existing) -> AppResult<()> {
        if let Some(line) = account.external_id.as_ref().and_then(|e| self.external_ids.get(e)) {
            return Err(AppError::conflict("externalId", format!("already used on line {line} of the file")));
        }
        if let Some(alias) = &account.alias {
            if found.aliases.contains(alias) || self.aliases.contains(alias) {
                return Err(AppError::conflict("alias", "already taken in the organization"));
            }
        }
        if account.main && self.with_main.contains(&owner) {
            return Err(AppError::conflict("main", "the owner already has a main account"));
        }
        if let Some(b) = &account.custody_bank_account {
            if !self.currencies.contains_key(&b.currency) {
                return Err(AppError::invalid("custodyBankAccount.currency", "not a currency of the organization"));
            }
        }
        Ok(())
    }

    /// Notes what an accepted account uses, for the rows after it.
    fn accept(
        &mut self,
        line: u64,
        r: &Record,
        row: account::ActiveModel,
        new_owner: Option<client::ActiveModel>,
        batch: &mut BulkRows,
    ) {
        if let Some(n) = &r.source_number {
            self.placed.insert(
                n.clone(),
                Placed { id: *row.id.as_ref(), depth: *row.depth.as_ref(), owner: *row.owner_id.as_ref() },
            );
        }
        if let Holder::Client { account, owner, .. } = &r.holder {
            if let Some(c) = new_owner {
                match &owner.external_id {
                    Some(e) => self.clients.insert(e.clone(), *c.id.as_ref()),
                    None => self.unnamed_clients.insert((owner.name.clone(), owner.email.clone()), *c.id.as_ref()),
                };
                batch.clients.push(c);
            }
            if let Some(e) = &account.external_id {
                self.external_ids.insert(e.clone(), line);
            }
            self.aliases.extend(account.alias.clone());
            if account.main {
                self.with_main.extend(*row.owner_id.as_ref());
            }
        }
        self.wallets.extend(batch.wallets.iter().map(|w| (*w.network_id.as_ref(), w.address.as_ref().clone())));
        batch.accounts.push(row);
    }

    /// Notes an account the organization has, for its sub-accounts.
    fn skip(&mut self, r: &Record, existing: Option<Placed>) {
        self.report.skipped += 1;
        if let (Some(n), Some(p)) = (&r.source_number, existing) {
            self.placed.insert(n.clone(), p);
        }
    }

    /// Checks, builds and writes one batch in one transaction.
    async fn batch<C: TransactionTrait + ConnectionTrait>(
        &mut self,
        db: &C,
        records: Vec<(u64, Record)>,
    ) -> AppResult<()> {
        let tx = db.begin().await?;
        self.ensure_catalog(&tx, &records).await?;
        let found = self.existing(&tx, &records).await?;
        let mut batch = BulkRows::default();
        for (line, r) in &records {
            let mut rows = BulkRows::default();
            match self.account_rows(r, &found, &mut rows) {
                Ok(Outcome::New(new)) => {
                    let (row, new_owner) = *new;
                    self.accept(*line, r, row, new_owner, &mut rows);
                    batch.append(rows);
                }
                Ok(Outcome::Exists(placed)) => self.skip(r, placed),
                Err(e) => self.report.rejected.push(Rejected { line: *line, reason: reason(&e) }),
            }
        }
        let count = batch.accounts.len() as i64;
        if count > 0 {
            let first = organizations::reserve_uids(&tx, self.org, count).await?;
            for (offset, row) in batch.accounts.iter_mut().enumerate() {
                let uid = first + offset as i64;
                row.uid = Set(uid);
                row.account_number = Set(crate::domain::account_number::account_number(uid));
            }
        }
        batch.insert(&tx).await?;
        tx.commit().await?;
        self.report.created += count as u64;
        Ok(())
    }
}

/// Imports the accounts of `rows` into the organization `org_name`
/// (created when missing). `actor` is who the balance journal names;
/// `progress` hears the bytes read after each batch.
pub async fn import<C: TransactionTrait + ConnectionTrait>(
    db: &C,
    org_name: &str,
    rows: &mut Rows,
    actor: &str,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> AppResult<ImportReport> {
    let org = organizations::ensure(db, org_name).await?;
    let mut importer = Importer::new(db, org.id, actor).await?;
    let mut more = true;
    while more {
        let mut records = Vec::with_capacity(BATCH);
        while records.len() < BATCH {
            let Some(next) = rows.next() else {
                more = false;
                break;
            };
            let (line, value) = next.map_err(|e| AppError::invalid("file", format!("cannot be read: {e}")))?;
            match value.and_then(|v| Record::from_json(&v)) {
                Ok(r) => records.push((line, r)),
                Err(e) => importer.report.rejected.push(Rejected { line, reason: reason(&e) }),
            }
        }
        importer.batch(db, records).await?;
        progress(rows.bytes_read());
    }
    // Fresh statistics after a bulk load, as after a seed.
    if db.get_database_backend() == sea_orm::DbBackend::Postgres && importer.report.created > 0 {
        db.execute_unprepared("ANALYZE").await?;
    }
    Ok(importer.report)
}
