//! The write side's handle: the pool, the event bus, server secrets and
//! policy, and transactions that publish their events only after commit.

use crate::clock::Clock;
use crate::error::{AppError, AppResult};
use crate::events::{DomainEvent, EventBus};
use sea_orm::{AccessMode, DatabaseConnection, DatabaseTransaction, DbBackend, IsolationLevel, TransactionTrait};
use std::ops::Deref;
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Rules an operator can configure.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Refuse `deleteAccount` altogether (as one of the seed APIs does).
    pub forbid_account_deletion: bool,
    /// Which status changes are allowed.
    pub transitions: crate::domain::status::Transitions,
}

/// Everything a write needs.
#[derive(Clone)]
pub struct Store {
    /// The pool.
    pub db: DatabaseConnection,
    /// Where committed events go.
    pub events: EventBus,
    /// Key of card fingerprints.
    pub card_key: Arc<Vec<u8>>,
    /// Configured rules.
    pub policy: Policy,
    /// The time rules read.
    pub clock: Clock,
    /// SQLite has one writer: serialising writers here turns lock
    /// upgrades that SQLite would refuse (SQLITE_BUSY) into a short wait.
    sqlite_writer: Arc<Mutex<()>>,
}

/// An open write transaction; events wait in it until commit.
pub struct WriteTx {
    tx: DatabaseTransaction,
    /// Behind a lock so that helpers holding `&WriteTx` (the audit trail)
    /// can queue events too.
    events: std::sync::Mutex<Vec<DomainEvent>>,
    bus: EventBus,
    clock: Clock,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Deref for WriteTx {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

impl WriteTx {
    /// The time records of this transaction carry (created, updated,
    /// audited, journaled): the store's clock, to the microsecond the
    /// databases keep.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        use chrono::SubsecRound;
        self.clock.now().trunc_subsecs(6)
    }

    /// Queues an event for after commit.
    pub fn emit(&self, event: DomainEvent) {
        self.queued().push(event);
    }

    /// The queued events (a panic elsewhere while the lock was held leaves
    /// the list as it was: still the events to publish).
    fn queued(&self) -> std::sync::MutexGuard<'_, Vec<DomainEvent>> {
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A savepoint inside this transaction; release it into this one or
    /// drop it (or `rollback`) to undo only what it did.
    pub async fn savepoint(&self) -> AppResult<WriteTx> {
        Ok(WriteTx {
            tx: self.tx.begin().await?,
            events: Default::default(),
            bus: self.bus.clone(),
            clock: self.clock.clone(),
            _writer: None,
        })
    }

    /// Keeps a savepoint's work (and its events) in `parent`.
    pub async fn release(self, parent: &mut WriteTx) -> AppResult<()> {
        let events = std::mem::take(&mut *self.queued());
        self.tx.commit().await?;
        parent.queued().extend(events);
        Ok(())
    }

    /// Undoes the transaction (or savepoint) now.
    pub async fn rollback(self) -> AppResult<()> {
        Ok(self.tx.rollback().await?)
    }

    /// Numbers the queued events into the account event log and writes
    /// them to the outbox (when they travel to other replicas), commits,
    /// then delivers them locally; never waits for Redis. Dropping a
    /// `WriteTx` without commit rolls back and publishes nothing.
    ///
    /// The log's sequence row is locked by its last statements, so one
    /// organization's event-writing commits queue there for only as long
    /// as a commit takes, and its events are numbered in commit order.
    ///
    /// The commit and the local delivery run in a task of their own: a
    /// request dropped (its client gone, its time limit passed) while the
    /// commit is awaited must not skip delivering what did commit.
    pub async fn commit(self) -> AppResult<()> {
        let WriteTx { tx, events, bus, _writer: writer, .. } = self;
        let events = events.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let events = crate::service::event_log::append(&tx, events).await?;
        crate::service::outbox::append(&tx, bus.outbox_payloads(&events)).await?;
        let committing = crate::metrics::spawn_for_request(async move {
            let _writer = writer;
            tx.commit().await?;
            bus.committed(events);
            Ok::<(), AppError>(())
        });
        committing.await.map_err(|e| AppError::internal(format!("the commit task failed: {e}")))?
    }
}

impl Store {
    /// A store over `db`.
    pub fn new(db: DatabaseConnection, events: EventBus, card_key: Vec<u8>, policy: Policy, clock: Clock) -> Self {
        Store { db, events, card_key: Arc::new(card_key), policy, clock, sqlite_writer: Arc::new(Mutex::new(())) }
    }

    /// Holds SQLite's single write slot (no-op on PostgreSQL), for writers
    /// outside [`Store::begin`] such as the event relay.
    pub async fn sqlite_write_slot(&self) -> Option<OwnedMutexGuard<()>> {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => Some(self.sqlite_writer.clone().lock_owned().await),
            _ => None,
        }
    }

    /// Begins a write transaction (READ COMMITTED plus row locks on PostgreSQL).
    pub async fn begin(&self) -> AppResult<WriteTx> {
        let writer = self.sqlite_write_slot().await;
        let tx = match self.db.get_database_backend() {
            DbBackend::Postgres => {
                self.db.begin_with_config(Some(IsolationLevel::ReadCommitted), Some(AccessMode::ReadWrite)).await?
            }
            _ => self.db.begin().await?,
        };
        Ok(WriteTx {
            tx,
            events: Default::default(),
            bus: self.events.clone(),
            clock: self.clock.clone(),
            _writer: writer,
        })
    }
}
