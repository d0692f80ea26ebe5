//! Creating client accounts, one (`createAccount`) or ten thousand
//! (`importAccounts`) at a time, by one set of rules: what a batch refers
//! to (account types, owners, parents, projects, currencies, and the
//! aliases, external ids and idempotency keys already taken) is read in a
//! few statements for the whole batch; each command is checked against
//! that, and against the batch's earlier commands, in order; the accounts,
//! assets, journal rows, audit events and idempotency records are then
//! written in multi-row inserts. A batch costs the same dozen statements
//! whatever its size, where a savepoint per row cost a dozen per row.

use crate::auth::Principal;
use crate::domain::commands::{Checked, NewAccount};
use crate::domain::{BalanceCause, Role};
use crate::error::{AppError, AppResult};
use crate::service::account_write::{self, MAX_LEVELS};
use crate::service::audit::{self, Action, Change};
use crate::service::bulk_insert::{insert_chunks, BulkRows};
use crate::service::store::{Store, WriteTx};
use crate::service::{asset_write, idempotency, journal, organizations, rows};
use entity::{account, account_type, client, currency, idempotency_record, project};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, TryIntoModel};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Each command's outcome, in the order given.
pub type Outcomes = Vec<AppResult<account::Model>>;

/// The distinct values of `f` over `cmds`.
fn distinct<T: Eq + std::hash::Hash + Clone>(
    cmds: &[Checked<NewAccount>],
    f: impl Fn(&NewAccount) -> Vec<T>,
) -> Vec<T> {
    let set: HashSet<T> = cmds.iter().flat_map(|c| f(c)).collect();
    set.into_iter().collect()
}

/// What the commands of a batch refer to, read once for the batch; the
/// batch's own aliases, external ids and keys join as rows pass.
#[derive(Default)]
struct Known {
    types: HashMap<String, Uuid>,
    owners_by_id: HashMap<Uuid, client::Model>,
    owners_by_ext: HashMap<String, client::Model>,
    parents: HashMap<Uuid, account::Model>,
    projects: HashSet<Uuid>,
    /// Live accounts named as wallet accounts.
    wallet_accounts: HashSet<Uuid>,
    aliases: HashSet<String>,
    external_ids: HashSet<String>,
    currencies: HashMap<String, currency::Model>,
    records: HashMap<String, idempotency_record::Model>,
    /// Accounts earlier creates with a key made, by id.
    replays: HashMap<Uuid, account::Model>,
}

/// The values of `col` among the organization's accounts that are in `values`.
async fn taken<C: ConnectionTrait>(
    db: &C,
    org: Uuid,
    col: account::Column,
    values: Vec<String>,
) -> AppResult<HashSet<String>> {
    if values.is_empty() {
        return Ok(HashSet::new());
    }
    let found: Vec<Option<String>> = account::Entity::find()
        .select_only()
        .column(col)
        .filter(account::Column::OrganizationId.eq(org))
        .filter(col.is_in(values))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found.into_iter().flatten().collect())
}

impl Known {
    /// Reads what `cmds` refer to. Parents are locked FOR SHARE: a
    /// concurrent deleteAccount of one (FOR UPDATE) either waits for the
    /// new child and sees it, or is seen here as deleted; never a live
    /// child under a deleted parent.
    async fn load(tx: &WriteTx, org: Uuid, cmds: &[Checked<NewAccount>]) -> AppResult<Known> {
        let db = &**tx;
        let mut known = Known::default();
        let types = account_type::Entity::find().filter(account_type::Column::OrganizationId.eq(org)).all(db).await?;
        known.types = types.into_iter().map(|t| (t.code, t.id)).collect();
        let clients = || client::Entity::find().filter(client::Column::OrganizationId.eq(org));
        let ids = distinct(cmds, |c| c.owner_id.into_iter().collect());
        if !ids.is_empty() {
            known.owners_by_id =
                clients().filter(client::Column::Id.is_in(ids)).all(db).await?.into_iter().map(|c| (c.id, c)).collect();
        }
        let exts = distinct(cmds, |c| c.owner_external_id.clone().into_iter().collect());
        if !exts.is_empty() {
            let found = clients().filter(client::Column::ExternalId.is_in(exts)).all(db).await?;
            known.owners_by_ext = found.into_iter().filter_map(|c| Some((c.external_id.clone()?, c))).collect();
        }
        let parents = distinct(cmds, |c| c.parent_id.into_iter().collect());
        if !parents.is_empty() {
            let q = account::Entity::find().filter(account::Column::OrganizationId.eq(org));
            let found = q.filter(account::Column::Id.is_in(parents)).lock_shared().all(db).await?;
            known.parents = found.into_iter().map(|a| (a.id, a)).collect();
        }
        let wallets = distinct(cmds, |c| c.wallet_account_id.into_iter().collect());
        known.wallet_accounts = account_write::live_accounts(db, org, wallets).await?.into_iter().collect();
        let projects = distinct(cmds, |c| c.project_id.into_iter().collect());
        if !projects.is_empty() {
            let q = project::Entity::find().select_only().column(project::Column::Id);
            let q = q.filter(project::Column::OrganizationId.eq(org)).filter(project::Column::Id.is_in(projects));
            known.projects = q.into_tuple::<Uuid>().all(db).await?.into_iter().collect();
        }
        known.aliases =
            taken(db, org, account::Column::Alias, distinct(cmds, |c| c.alias.clone().into_iter().collect())).await?;
        let exts = distinct(cmds, |c| c.external_id.clone().into_iter().collect());
        known.external_ids = taken(db, org, account::Column::ExternalId, exts).await?;
        let codes = distinct(cmds, |c| {
            let bank = c.custody_bank_account.as_ref().map(|b| b.currency.clone());
            c.assets.iter().map(|a| a.currency.clone()).chain(bank).collect()
        });
        if !codes.is_empty() {
            let q = currency::Entity::find().filter(currency::Column::OrganizationId.eq(org));
            let found = q.filter(currency::Column::Code.is_in(codes)).all(db).await?;
            known.currencies = found.into_iter().map(|c| (c.code.clone(), c)).collect();
        }
        let keys = distinct(cmds, |c| c.idempotency_key.clone().into_iter().collect());
        let records = idempotency::records(db, org, keys).await?;
        let made: Vec<Uuid> =
            records.iter().filter_map(|r| r.response.get("accountId")?.as_str()?.parse().ok()).collect();
        if !made.is_empty() {
            let q = account::Entity::find().filter(account::Column::OrganizationId.eq(org));
            known.replays =
                q.filter(account::Column::Id.is_in(made)).all(db).await?.into_iter().map(|a| (a.id, a)).collect();
        }
        known.records = records.into_iter().map(|r| (r.key.clone(), r)).collect();
        Ok(known)
    }

    /// The owner a command names, by id or external id (both: the same).
    fn owner(&self, cmd: &NewAccount) -> AppResult<Uuid> {
        let by_id = match cmd.owner_id {
            Some(id) => Some(self.owners_by_id.get(&id).ok_or_else(|| AppError::missing("ownerId", "client"))?.id),
            None => None,
        };
        let by_ext = match cmd.owner_external_id.as_deref() {
            Some(ext) => {
                Some(self.owners_by_ext.get(ext).ok_or_else(|| AppError::missing("ownerExternalId", "client"))?.id)
            }
            None => None,
        };
        match (by_id, by_ext) {
            (Some(a), Some(b)) if a != b => {
                Err(AppError::invalid("ownerExternalId", "names another client than ownerId"))
            }
            (Some(a), _) | (None, Some(a)) => Ok(a),
            (None, None) => Err(AppError::invalid("ownerId", "a client account needs an owner")),
        }
    }

    /// The parent of a new sub-account of `owner`, and its depth.
    fn parent(&self, id: Uuid, owner: Uuid) -> AppResult<(Uuid, i32)> {
        let p = self.parents.get(&id).ok_or_else(|| AppError::missing("parentId", "parent account"))?;
        if p.deleted_at.is_some() {
            return Err(AppError::not_allowed("the parent account is deleted"));
        }
        if p.owner_id != Some(owner) {
            return Err(AppError::invalid("parentId", "the parent account belongs to another owner"));
        }
        if p.depth + 1 >= MAX_LEVELS {
            return Err(AppError::invalid("parentId", format!("sub-accounts nest at most {MAX_LEVELS} levels")));
        }
        Ok((p.id, p.depth))
    }

    fn currency(&self, code: &str, field: &str) -> AppResult<&currency::Model> {
        self.currencies.get(code).ok_or_else(|| AppError::invalid(field, "no currency with this code"))
    }

    /// What a new account refers to, each reference checked.
    fn references(&self, cmd: &NewAccount) -> AppResult<rows::AccountRefs> {
        let custody_bank_account = match &cmd.custody_bank_account {
            Some(b) => {
                self.currency(&b.currency, "currency").map_err(|e| e.within("custodyBankAccount", &[]))?;
                Some(b.to_json())
            }
            None => None,
        };
        let type_id = *self
            .types
            .get(&cmd.account_type)
            .ok_or_else(|| AppError::invalid("type", "no account type with this code"))?;
        let owner_id = self.owner(cmd)?;
        let parent = cmd.parent_id.map(|id| self.parent(id, owner_id)).transpose()?;
        if cmd.project_id.is_some_and(|id| !self.projects.contains(&id)) {
            return Err(AppError::missing("projectId", "project"));
        }
        if cmd.wallet_account_id.is_some_and(|id| !self.wallet_accounts.contains(&id)) {
            return Err(AppError::missing("walletAccountId", "account"));
        }
        if cmd.alias.as_ref().is_some_and(|a| self.aliases.contains(a)) {
            return Err(AppError::conflict("alias", "this alias is already in use"));
        }
        if cmd.external_id.as_ref().is_some_and(|e| self.external_ids.contains(e)) {
            return Err(AppError::conflict("externalId", "this external id is already in use"));
        }
        Ok(rows::AccountRefs { type_id, owner_id, parent, custody_bank_account })
    }
}

/// One new account's rows: the account, its assets with their first
/// journal rows, their audit events and its key's record.
fn account_rows(
    who: &Principal,
    known: &Known,
    cmd: &Checked<NewAccount>,
    uid: i64,
    cause: BalanceCause,
    at: chrono::DateTime<chrono::Utc>,
) -> AppResult<(account::Model, BulkRows)> {
    let org = who.organization_id;
    let refs = known.references(cmd)?;
    let created = rows::client_account(org, uid, cmd, refs, at).try_into_model()?;
    let mut out = BulkRows::default();
    out.audit.push(audit::event_row(
        who,
        Change::created(Action::AccountCreated, created.id, Some(created.id), &created),
        at,
    )?);
    let mut held = HashSet::new();
    for (i, a) in cmd.assets.iter().enumerate() {
        let place = |e: AppError| e.within(&format!("assets.{i}"), &[]);
        let cur = known.currency(&a.currency, "currency").map_err(place)?;
        if !held.insert(cur.id) {
            return Err(place(asset_write::already_held(cur)));
        }
        let asset = asset_write::new_row(org, created.id, cur, a, at).map_err(place)?.try_into_model()?;
        let deltas = [asset.available.0, asset.on_hold.0, asset.future.0];
        let entry = journal::Entry { cause, idempotency_key: None, transfer_id: None, deltas };
        out.entries.push(journal::entry_row(who, &asset, entry, at));
        let change = Change::created(Action::AssetAdded, asset.id, Some(created.id), &asset);
        out.audit.push(audit::event_row(who, change, at)?);
        out.assets.push(asset.into());
    }
    out.keys.extend(idempotency::record_row(org, cmd, created.id, at));
    Ok((created, out))
}

/// Where a command of a batch ended up.
enum Slot {
    /// It makes the batch's account at this index.
    Made(usize),
    /// Its key already made this account.
    Existing(Box<account::Model>),
    /// It is refused.
    Failed(AppError),
}

/// A batch being checked: the accounts it makes, in order, with their
/// other rows, and where each command ended up.
#[derive(Default)]
struct Plan<'c> {
    made: Vec<account::Model>,
    rows: BulkRows,
    slots: Vec<Slot>,
    /// Keys of the batch's own accounts: the index in `made`, the command.
    keys: HashMap<String, (usize, &'c Checked<NewAccount>)>,
    /// Each owner's main account among `made`.
    main: HashMap<Uuid, usize>,
}

impl<'c> Plan<'c> {
    /// A keyed command's earlier answer: the account its key made (in the
    /// database or earlier in the batch), CONFLICT for another request.
    fn replay(&self, known: &Known, cmd: &Checked<NewAccount>) -> Option<Slot> {
        let key = cmd.idempotency_key.as_ref()?;
        if let Some(rec) = known.records.get(key) {
            let found = idempotency::answered(rec, cmd).and_then(|id| {
                let gone = || AppError::internal("the account of an idempotency record is gone");
                known.replays.get(&id).cloned().ok_or_else(gone)
            });
            return Some(found.map_or_else(Slot::Failed, |m| Slot::Existing(Box::new(m))));
        }
        let (earlier, first) = self.keys.get(key)?;
        Some(match idempotency::same_request(first, cmd) {
            true => Slot::Made(*earlier),
            false => Slot::Failed(idempotency::conflicting()),
        })
    }

    /// Adds a checked account: what it claims (alias, external id, key)
    /// is taken for the commands after it, and a main account takes the
    /// flag from the batch's earlier main account of its owner, audited
    /// as if the commands had run one after another.
    fn add(
        &mut self,
        who: &Principal,
        known: &mut Known,
        cmd: &'c Checked<NewAccount>,
        made: account::Model,
        rows: BulkRows,
        at: chrono::DateTime<chrono::Utc>,
    ) -> AppResult<()> {
        let index = self.made.len();
        known.aliases.extend(cmd.alias.clone());
        known.external_ids.extend(cmd.external_id.clone());
        if let Some(key) = &cmd.idempotency_key {
            self.keys.insert(key.clone(), (index, cmd));
        }
        self.rows.append(rows);
        if let (true, Some(owner)) = (made.main, made.owner_id) {
            if let Some(earlier) = self.main.insert(owner, index) {
                let before = self.made[earlier].clone();
                let after = &mut self.made[earlier];
                (after.main, after.version, after.updated_at) = (false, before.version + 1, at);
                let change = Change::changed(Action::AccountUpdated, before.id, Some(before.id), &before, &*after);
                self.rows.audit.push(audit::event_row(who, change, at)?);
            }
        }
        self.made.push(made);
        self.slots.push(Slot::Made(index));
        Ok(())
    }

    /// Each command's outcome.
    fn outcomes(&self) -> Outcomes {
        let outcome = |slot: &Slot| match slot {
            Slot::Made(i) => Ok(self.made[*i].clone()),
            Slot::Existing(m) => Ok((**m).clone()),
            Slot::Failed(e) => Err(e.clone()),
        };
        self.slots.iter().map(outcome).collect()
    }
}

/// Creates `cmds` inside `tx`, each checked in order against what exists
/// and what the batch's earlier commands made. With `all_or_nothing`,
/// nothing is written when any command fails; otherwise the others are.
pub async fn create_many_in(
    tx: &mut WriteTx,
    who: &Principal,
    cmds: &[Checked<NewAccount>],
    cause: BalanceCause,
    all_or_nothing: bool,
) -> AppResult<Outcomes> {
    let org = who.organization_id;
    // The organization's row is locked first (the uid sequence), so two
    // creates with one key queue here and the later one finds the record.
    let count = i64::try_from(cmds.len()).map_err(AppError::internal)?;
    let first_uid = organizations::reserve_uids(&**tx, org, count).await?;
    let mut known = Known::load(tx, org, cmds).await?;
    let at = tx.now();
    let mut plan = Plan::default();
    for (uid, cmd) in (first_uid..).zip(cmds) {
        if let Some(slot) = plan.replay(&known, cmd) {
            plan.slots.push(slot);
            continue;
        }
        match account_rows(who, &known, cmd, uid, cause, at) {
            Ok((made, rows)) => plan.add(who, &mut known, cmd, made, rows, at)?,
            Err(e) => plan.slots.push(Slot::Failed(e)),
        }
    }
    let outcomes = plan.outcomes();
    if !(all_or_nothing && outcomes.iter().any(Result::is_err)) {
        write(tx, who, plan).await?;
    }
    Ok(outcomes)
}

/// Writes a checked batch: the main flag taken from the owners' existing
/// main accounts, then every row, table by table.
async fn write(tx: &WriteTx, who: &Principal, plan: Plan<'_>) -> AppResult<()> {
    let owners: Vec<Uuid> = plan.main.keys().copied().collect();
    account_write::take_main(tx, who, &owners, None).await?;
    let accounts: Vec<account::ActiveModel> = plan.made.into_iter().map(Into::into).collect();
    insert_chunks(&**tx, accounts).await.map_err(account_write::conflict)?;
    let mut rows = plan.rows;
    rows.audit.iter().filter_map(audit::account_event).for_each(|e| tx.emit(e));
    let keys = std::mem::take(&mut rows.keys);
    rows.insert(&**tx).await?;
    insert_chunks(&**tx, keys).await.map_err(|e| AppError::from_unique(e, &[("key", "idempotencyKey")]))?;
    Ok(())
}

/// `createAccount`.
pub async fn create(store: &Store, who: &Principal, cmd: Checked<NewAccount>) -> AppResult<account::Model> {
    who.require(Role::Operator)?;
    let mut tx = store.begin().await?;
    let created = create_many_in(&mut tx, who, std::slice::from_ref(&cmd), BalanceCause::Initial, true).await?;
    let created = created.into_iter().next().ok_or_else(|| AppError::internal("a batch of one made nothing"))??;
    tx.commit().await?;
    Ok(created)
}
