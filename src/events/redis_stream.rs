//! Domain events between replicas through one Redis stream.
//!
//! The relay appends outbox rows with XADD; every replica reads the stream
//! with XREAD from the last id it saw, so a replica whose connection
//! dropped catches up on reconnect instead of missing what was sent
//! meanwhile (pub/sub would drop it). When Redis itself restarted (its
//! epoch changed, see [`epoch`]) the new stream is read from its start.

use super::{Envelope, Sequenced};
use crate::metrics::Metrics;
use crate::redis_conn::{RedisConn, RedisTarget};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Mutex};
use uuid::Uuid;

/// Longest the reader waits for slow subscribers before reading on.
const PACE_LIMIT: Duration = Duration::from_secs(5);

/// How long one relay append may take before it counts as failed.
const APPEND_TIMEOUT: Duration = Duration::from_millis(500);
/// How long one XREAD blocks waiting for entries.
const READ_BLOCK_MS: u64 = 1000;
/// Longest pause between reconnect attempts: a replica hears events again
/// within about this long of Redis returning.
const MAX_BACKOFF: Duration = Duration::from_millis(400);
/// Entries kept in the stream (approximate trim): far more than a
/// reconnecting replica needs to catch up.
const STREAM_MAXLEN: u64 = 100_000;

/// One stream key on one Redis (server or cluster).
pub struct RedisStream {
    target: RedisTarget,
    key: String,
    conn: Mutex<Option<RedisConn>>,
    metrics: Metrics,
    /// Bumped when this replica's reader finds Redis restarted (its stream,
    /// kept in memory, is gone): the relay then sends its retained rows again.
    restarts: tokio::sync::watch::Sender<u64>,
}

impl RedisStream {
    /// A handle on the stream `{name}` (hash-tagged, so its epoch marker
    /// shares its cluster slot); connects lazily.
    pub fn new(target: RedisTarget, name: &str, metrics: Metrics) -> Self {
        RedisStream {
            target,
            key: RedisTarget::tagged(name, ""),
            conn: Mutex::new(None),
            metrics,
            restarts: tokio::sync::watch::channel(0).0,
        }
    }

    /// Changes each time Redis is found restarted.
    pub fn restarts(&self) -> tokio::sync::watch::Receiver<u64> {
        self.restarts.subscribe()
    }

    async fn connection(&self) -> redis::RedisResult<RedisConn> {
        let mut guard = self.conn.lock().await;
        if let Some(c) = guard.as_ref() {
            return Ok(c.clone());
        }
        let c = self.target.connect(APPEND_TIMEOUT, APPEND_TIMEOUT, 0).await?;
        *guard = Some(c.clone());
        Ok(c)
    }

    /// Appends `(outbox id, encoded envelope)` entries in one round trip;
    /// an error means none may be counted as sent (the caller keeps them).
    pub async fn append(&self, entries: &[(i64, String)]) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        for (id, p) in entries {
            pipe.cmd("XADD")
                .arg(&self.key)
                .arg("MAXLEN")
                .arg("~")
                .arg(STREAM_MAXLEN)
                .arg("*")
                .arg("i")
                .arg(id)
                .arg("e")
                .arg(p)
                .ignore();
        }
        let sent = async {
            let mut conn = self.connection().await?;
            pipe.query_async::<()>(&mut conn).await
        };
        let result = match tokio::time::timeout(APPEND_TIMEOUT, sent).await {
            Ok(r) => r,
            Err(_) => Err(redis::RedisError::from((redis::ErrorKind::IoError, "append timed out"))),
        };
        if result.is_err() {
            self.metrics.event_relay_error();
            // A fresh connection next time: the manager may hold a dead one.
            *self.conn.lock().await = None;
        } else {
            self.metrics.events_relayed(entries.len() as u64);
        }
        result
    }

    /// Starts the task that delivers other replicas' events to `local`.
    pub fn spawn_reader(&self, replica: Uuid, local: broadcast::Sender<Arc<Sequenced>>) {
        let reader = Reader {
            target: self.target.clone(),
            key: self.key.clone(),
            replica,
            local,
            metrics: self.metrics.clone(),
            restarts: self.restarts.clone(),
            seen: std::sync::Mutex::new(Seen::default()),
        };
        tokio::spawn(reader.run());
    }
}

struct Reader {
    target: RedisTarget,
    key: String,
    replica: Uuid,
    local: broadcast::Sender<Arc<Sequenced>>,
    metrics: Metrics,
    restarts: tokio::sync::watch::Sender<u64>,
    /// Outbox ids delivered lately: an entry relayed again after a Redis
    /// restart is delivered once.
    seen: std::sync::Mutex<Seen>,
}

/// How many delivered outbox ids are remembered: far more than the
/// outbox retains.
const SEEN: usize = 200_000;

/// The last [`SEEN`] outbox ids delivered.
#[derive(Default)]
struct Seen {
    ids: std::collections::HashSet<i64>,
    order: std::collections::VecDeque<i64>,
}

impl Seen {
    /// Remembers `id`; false when it was already there.
    fn first_time(&mut self, id: i64) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > SEEN {
            if let Some(old) = self.order.pop_front() {
                self.ids.remove(&old);
            }
        }
        true
    }
}

/// Where a reader stands: the epoch of the Redis data it read, and the last id.
struct Position {
    epoch: String,
    last_id: String,
}

type ReadReply = Option<Vec<(String, Vec<(String, Vec<String>)>)>>;

impl Reader {
    /// Reads until the process ends, reconnecting with backoff.
    async fn run(self) {
        let mut position: Option<Position> = None;
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.session(&mut position).await {
                Ok(()) => {}
                Err(e) => {
                    self.metrics.redis_error();
                    tracing::warn!(error = %e, "event stream unavailable; reconnecting");
                }
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One connection's worth of reading; returns on any Redis error.
    async fn session(&self, position: &mut Option<Position>) -> redis::RedisResult<()> {
        let mut conn = self.target.dedicated(Duration::from_millis(READ_BLOCK_MS + 2000)).await?;
        let epoch = epoch(&mut conn, &self.key).await?;
        let last_id = match position.take() {
            Some(p) if p.epoch == epoch => p.last_id,
            // Redis restarted: its stream is new, read it all, and have the
            // relay send again what the old one may have lost.
            Some(_) => {
                self.restarts.send_modify(|n| *n += 1);
                "0-0".to_owned()
            }
            // First start: only what comes from now on.
            None => newest_id(&mut conn, &self.key).await?,
        };
        *position = Some(Position { epoch, last_id });
        tracing::info!(stream = %self.key, "reading events from redis");
        loop {
            let Some(p) = position.as_mut() else { return Ok(()) };
            let reply: ReadReply = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(512)
                .arg("BLOCK")
                .arg(READ_BLOCK_MS)
                .arg("STREAMS")
                .arg(&self.key)
                .arg(&p.last_id)
                .query_async(&mut conn)
                .await?;
            for (_, entries) in reply.unwrap_or_default() {
                for (id, fields) in entries {
                    self.deliver(&fields);
                    p.last_id = id;
                }
            }
            self.pace().await;
        }
    }

    /// Backpressure: after an outage the backlog arrives at once. The stream
    /// keeps it, so reading waits while subscribers are more than half a
    /// buffer behind, rather than pushing them past the buffer (where they
    /// would lose events); but only while they catch up, and for so long:
    /// the buffer's length is its slowest subscriber's, so a subscriber that
    /// does not move (a socket whose client stopped reading, until it is
    /// closed) must not hold back every other.
    async fn pace(&self) {
        let since = std::time::Instant::now();
        let mut behind = self.local.len();
        while behind > super::BUFFER / 2 && since.elapsed() < PACE_LIMIT {
            tokio::time::sleep(Duration::from_millis(5)).await;
            let now = self.local.len();
            if now >= behind {
                return;
            }
            behind = now;
        }
    }

    fn deliver(&self, fields: &[String]) {
        let field = |name: &str| fields.chunks(2).find(|kv| kv[0] == name).and_then(|kv| kv.get(1));
        let Some(text) = field("e") else { return };
        if let Some(id) = field("i").and_then(|i| i.parse::<i64>().ok()) {
            let fresh = match self.seen.lock() {
                Ok(mut seen) => seen.first_time(id),
                Err(poisoned) => poisoned.into_inner().first_time(id),
            };
            if !fresh {
                return;
            }
        }
        match serde_json::from_str::<Envelope>(text) {
            Ok(envelope) if envelope.origin != self.replica => {
                self.metrics.event_received();
                let _ = self.local.send(Arc::new(Sequenced { seq: envelope.seq, event: envelope.event }));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ignoring a malformed event from redis"),
        }
    }
}

/// The epoch of the Redis data that holds the stream: a marker key beside
/// the stream (same cluster slot), set once with SET NX by whichever
/// replica comes first. Redis keeps both in memory only, so after a
/// restart the marker is gone and a new one is set: the stream is new.
/// (A server's `run_id` says the same of one server, but on a cluster INFO
/// answers from any node.)
async fn epoch(conn: &mut RedisConn, key: &str) -> redis::RedisResult<String> {
    let marker = format!("{key}:epoch");
    let _: Option<String> =
        redis::cmd("SET").arg(&marker).arg(Uuid::new_v4().to_string()).arg("NX").query_async(conn).await?;
    redis::cmd("GET").arg(&marker).query_async(conn).await
}

async fn newest_id(conn: &mut RedisConn, key: &str) -> redis::RedisResult<String> {
    let newest: Vec<(String, Vec<String>)> =
        redis::cmd("XREVRANGE").arg(key).arg("+").arg("-").arg("COUNT").arg(1).query_async(conn).await?;
    Ok(newest.into_iter().next().map_or_else(|| "0-0".to_owned(), |(id, _)| id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_delivered_once_and_memory_stays_bounded() {
        let mut seen = Seen::default();
        assert!(seen.first_time(7));
        assert!(!seen.first_time(7), "a re-sent entry is skipped");
        for id in 100..(100 + SEEN as i64) {
            seen.first_time(id);
        }
        assert_eq!(seen.ids.len(), SEEN);
        assert!(seen.first_time(7), "the oldest ids are forgotten first");
    }
}
