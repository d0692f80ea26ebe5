//! Quote history: every quote obtained from the source is kept, one row
//! per distinct (currency, source timestamp), written by a background task
//! so that no request waits for it.

use super::CachedQuote;
use crate::service::store::Store;
use entity::{quote_history, Amount};
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use tokio::sync::mpsc;

/// Batches of quotes waiting to be written; past this, new ones are
/// dropped (and counted in the log) rather than queued without bound.
const QUEUE: usize = 1024;

/// Where fetched quotes go to be kept.
#[derive(Clone)]
pub struct HistorySink {
    queue: mpsc::Sender<Vec<(String, CachedQuote)>>,
}

impl HistorySink {
    /// Starts the writer on `db` (a background pool); on SQLite it takes
    /// `store`'s write slot like every writer.
    pub fn spawn(db: DatabaseConnection, store: Store) -> Self {
        let (queue, mut rx) = mpsc::channel::<Vec<(String, CachedQuote)>>(QUEUE);
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                let rows = batch.into_iter().map(|(code, q)| quote_history::ActiveModel {
                    currency: Set(code),
                    at: Set(q.at),
                    rate: Set(Amount(q.rate)),
                    source: Set(q.source),
                });
                let _slot = store.sqlite_write_slot().await;
                let insert = quote_history::Entity::insert_many(rows)
                    .on_conflict_do_nothing_on([quote_history::Column::Currency, quote_history::Column::At])
                    .exec_without_returning(&db)
                    .await;
                if let Err(e) = insert {
                    tracing::warn!(error = %e, "could not keep quotes in their history");
                }
            }
        });
        HistorySink { queue }
    }

    /// Queues `quotes` to be kept; never waits.
    pub fn record(&self, quotes: Vec<(String, CachedQuote)>) {
        if quotes.is_empty() {
            return;
        }
        if self.queue.try_send(quotes).is_err() {
            tracing::warn!("quote history writer is behind; these quotes are not kept");
        }
    }
}
