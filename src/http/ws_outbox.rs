//! A socket's outgoing queue, bounded in bytes, and what happens when its
//! client stops reading: the queue fills, a producer waits for room at
//! most `patience`, and then the socket is marked slow and closed, with its
//! subscriptions and memory, whether or not the client ever reads again.
//! The writer gives up the same way on a write that stalls. Nothing shared
//! waits on one socket: each has its own queue, and the connection's own
//! messages (pongs, acks) never wait at all.

use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

/// The socket is gone (closed, or found too slow).
#[derive(Debug)]
pub struct Gone;

/// The producing side; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<(Message, OwnedSemaphorePermit)>,
    room: Arc<Semaphore>,
    max_bytes: usize,
    patience: Duration,
    slow: Arc<watch::Sender<bool>>,
}

/// The consuming side, for [`write_all`].
pub struct Queue {
    rx: mpsc::UnboundedReceiver<(Message, OwnedSemaphorePermit)>,
    slow: Arc<watch::Sender<bool>>,
}

/// What a message weighs in the queue.
fn weight(msg: &Message, max: usize) -> u32 {
    let bytes = match msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        _ => 64,
    };
    u32::try_from(bytes.clamp(1, max)).unwrap_or(u32::MAX)
}

impl Outbox {
    /// A queue of at most `max_bytes`; producers wait at most `patience`.
    pub fn new(max_bytes: usize, patience: Duration) -> (Outbox, Queue) {
        let (tx, rx) = mpsc::unbounded_channel();
        let slow = Arc::new(watch::channel(false).0);
        let max_bytes = max_bytes.clamp(1, Semaphore::MAX_PERMITS);
        let room = Arc::new(Semaphore::new(max_bytes));
        (Outbox { tx, room, max_bytes, patience, slow: slow.clone() }, Queue { rx, slow })
    }

    /// Queues `msg`, waiting for room at most the patience; a queue that
    /// stays full that long marks the socket slow.
    pub async fn send(&self, msg: Message) -> Result<(), Gone> {
        let need = weight(&msg, self.max_bytes);
        match tokio::time::timeout(self.patience, self.room.clone().acquire_many_owned(need)).await {
            Ok(Ok(permit)) => self.tx.send((msg, permit)).map_err(|_| Gone),
            Ok(Err(_)) => Err(Gone),
            Err(_) => {
                self.slow.send_replace(true);
                Err(Gone)
            }
        }
    }

    /// Queues `msg` only if there is room now (the connection's own
    /// messages: a pong the client is not reading can be dropped).
    pub fn offer(&self, msg: Message) -> Result<(), Gone> {
        let need = weight(&msg, self.max_bytes);
        let permit = self.room.clone().try_acquire_many_owned(need).map_err(|_| Gone)?;
        self.tx.send((msg, permit)).map_err(|_| Gone)
    }

    /// Resolves once the client has been found too slow.
    pub async fn slow(&self) {
        let mut seen = self.slow.subscribe();
        let _ = seen.wait_for(|slow| *slow).await;
    }
}

/// Sends what the queue holds, in order, until a close or an error; a
/// write that stalls past `stall` marks the socket slow and ends it.
pub async fn write_all(mut sink: SplitSink<WebSocket, Message>, mut queue: Queue, stall: Duration) {
    while let Some((msg, permit)) = queue.rx.recv().await {
        let closing = matches!(msg, Message::Close(_));
        match tokio::time::timeout(stall, sink.send(msg)).await {
            Ok(Ok(())) if !closing => drop(permit),
            Ok(_) => break,
            Err(_) => {
                queue.slow.send_replace(true);
                return;
            }
        }
    }
    let _ = tokio::time::timeout(stall, sink.close()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_queue_that_stays_full_marks_the_socket_slow() {
        let (out, _queue) = Outbox::new(100, Duration::from_millis(20));
        assert!(out.send(Message::Text("x".repeat(60).into())).await.is_ok());
        assert!(out.offer(Message::Text("y".repeat(60).into())).is_err(), "no room, no wait");
        assert!(out.send(Message::Text("z".repeat(60).into())).await.is_err(), "full past its patience");
        assert!(tokio::time::timeout(Duration::from_secs(5), out.slow()).await.is_ok(), "marked slow");
    }
}
