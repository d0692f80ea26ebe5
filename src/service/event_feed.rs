//! One subscriber's place in its organization's event stream: the events
//! after a cursor replayed from the log, then live ones, in order, with no
//! hole and no repeat.
//!
//! The feed listens to the live events before it reads the log, so an
//! event committing during the replay is either read from the log or heard
//! live (and skipped when it was both). Live events of other replicas may
//! arrive out of order, or be lost with a lagging buffer: a number further
//! than the next one means the missing ones are in the log (see
//! [`event_log`]), and they are read from there.

use crate::error::{AppError, AppResult};
use crate::events::Sequenced;
use crate::service::event_log;
use crate::service::store::Store;
use sea_orm::DatabaseConnection;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::broadcast::{error::RecvError, Receiver};
use uuid::Uuid;

/// Events read from the log per statement.
const PAGE: u64 = 500;

/// A subscriber's position and what it has yet to deliver.
pub struct Feed {
    /// The primary: a replica's lag would look like a hole.
    db: DatabaseConnection,
    org: Uuid,
    /// The last event delivered (or the cursor it started after).
    last: i64,
    live: Receiver<Arc<Sequenced>>,
    /// Read from the log, not delivered yet.
    ready: VecDeque<Sequenced>,
    /// The log may hold events after `last` not read yet.
    behind: bool,
    /// Owners of the accounts asked about: owners never change, so an
    /// answer is kept for the feed's life.
    owners: std::collections::HashMap<Uuid, Option<Uuid>>,
}

impl Feed {
    /// A feed of `org`'s events after number `after`, or from now on.
    /// A cursor past the last event is VALIDATION_FAILED; one whose next
    /// event is no longer retained is EVENTS_EXPIRED.
    pub async fn open(store: &Store, org: Uuid, after: Option<i64>) -> AppResult<Feed> {
        // From now on: the last number before listening. What commits
        // between this read and the listening is found in the log below.
        let last = match after {
            Some(c) => c,
            None => event_log::last_seq(&store.db, org).await?,
        };
        let live = store.events.subscribe();
        let newest = event_log::last_seq(&store.db, org).await?;
        if last > newest || last < 0 {
            return Err(AppError::invalid("after", "no event has this cursor"));
        }
        let mut feed = Feed {
            db: store.db.clone(),
            org,
            last,
            live,
            ready: VecDeque::new(),
            behind: last < newest,
            owners: Default::default(),
        };
        if feed.behind {
            // At once, so that an expired cursor fails the subscription
            // itself rather than its first event.
            feed.read_log().await?;
        }
        Ok(feed)
    }

    /// The next event; `None` when the bus is gone (shutdown).
    pub async fn next(&mut self) -> AppResult<Option<Sequenced>> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                self.last = e.seq;
                return Ok(Some(e));
            }
            if self.behind {
                self.read_log().await?;
                continue;
            }
            match self.live.recv().await {
                Ok(e) if e.seq == 0 || e.seq <= self.last || e.organization_id() != self.org => {}
                Ok(e) if e.seq == self.last + 1 => {
                    self.last = e.seq;
                    return Ok(Some((*e).clone()));
                }
                // A hole: what fills it has committed, so it is in the log.
                Ok(_) | Err(RecvError::Lagged(_)) => self.behind = true,
                Err(RecvError::Closed) => return Ok(None),
            }
        }
    }

    /// The owner of the organization's account `id` (`None` for system
    /// accounts and accounts not found).
    pub async fn owner_of(&mut self, id: Uuid) -> AppResult<Option<Uuid>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        if let Some(owner) = self.owners.get(&id) {
            return Ok(*owner);
        }
        let found = entity::account::Entity::find_by_id(id)
            .filter(entity::account::Column::OrganizationId.eq(self.org))
            .one(&self.db)
            .await?;
        let owner = found.and_then(|a| a.owner_id);
        self.owners.insert(id, owner);
        Ok(owner)
    }

    /// Reads the next page of the log after `last`.
    async fn read_log(&mut self) -> AppResult<()> {
        let page = event_log::read_after(&self.db, self.org, self.last, PAGE).await?;
        if page.first().is_some_and(|e| e.seq != self.last + 1) {
            return Err(AppError::EventsExpired(format!(
                "the events after this cursor are no longer retained (the oldest kept is {}); \
                 read the state again, then subscribe without `after`",
                page.first().map_or(0, |e| e.seq)
            )));
        }
        self.behind = page.len() as u64 == PAGE;
        self.ready.extend(page);
        Ok(())
    }
}

/// The opaque cursor of event number `seq`.
pub fn cursor(seq: i64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("event:{seq}"))
}

/// The event number of a cursor this API wrote; `arg` names the argument.
pub fn parse_cursor(text: &str, arg: &str) -> AppResult<i64> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix("event:").and_then(|n| n.parse::<i64>().ok()))
        .filter(|n| *n >= 0)
        .ok_or_else(|| AppError::invalid(arg, "not an event cursor returned by this API"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_read_back_and_strangers_are_refused() {
        assert_eq!(parse_cursor(&cursor(42), "after").ok(), Some(42));
        for bad in ["", "42", "ZXZlbnQ6LTE", "not base64!"] {
            assert!(parse_cursor(bad, "after").is_err(), "{bad}");
        }
    }
}
