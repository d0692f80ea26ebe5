//! Redis pub/sub for domain events: one publish per event, one listening
//! connection per replica, re-established with backoff while clients stay
//! connected. Events published while a replica's listener is down do not
//! reach that replica's subscribers.

use super::DomainEvent;
use crate::metrics::Metrics;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, Mutex};

/// How long one publish may take before the event is delivered locally only.
const PUBLISH_TIMEOUT: Duration = Duration::from_millis(500);

/// Publishing side plus the listener task.
pub struct RedisFanout {
    client: redis::Client,
    channel: String,
    conn: Mutex<Option<ConnectionManager>>,
    metrics: Metrics,
}

impl RedisFanout {
    /// Starts listening on `channel`, forwarding into `local`.
    pub fn start(
        url: &str,
        channel: &str,
        local: broadcast::Sender<Arc<DomainEvent>>,
        metrics: Metrics,
    ) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        tokio::spawn(listen(client.clone(), channel.to_owned(), local, metrics.clone()));
        Ok(RedisFanout { client, channel: channel.to_owned(), conn: Mutex::new(None), metrics })
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_connection_timeout(PUBLISH_TIMEOUT)
                .set_response_timeout(PUBLISH_TIMEOUT);
            match tokio::time::timeout(PUBLISH_TIMEOUT, self.client.get_connection_manager_with_config(config)).await {
                Ok(Ok(c)) => *guard = Some(c),
                _ => return None,
            }
        }
        guard.clone()
    }

    /// True when Redis took the event (every listener, this replica's too,
    /// will deliver it).
    pub async fn publish(&self, event: &DomainEvent) -> bool {
        let Ok(payload) = serde_json::to_string(event) else { return false };
        let Some(mut conn) = self.connection().await else {
            self.metrics.redis_error();
            tracing::warn!("redis unavailable: the event reaches this replica's subscribers only");
            return false;
        };
        let sent = tokio::time::timeout(
            PUBLISH_TIMEOUT,
            redis::cmd("PUBLISH").arg(&self.channel).arg(payload).query_async::<i64>(&mut conn),
        )
        .await;
        match sent {
            Ok(Ok(_)) => true,
            _ => {
                self.metrics.redis_error();
                tracing::warn!("redis publish failed: the event reaches this replica's subscribers only");
                false
            }
        }
    }
}

/// Subscribes and forwards until the process ends, reconnecting with
/// doubling backoff (100 ms to 5 s).
async fn listen(client: redis::Client, channel: String, local: broadcast::Sender<Arc<DomainEvent>>, metrics: Metrics) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    tracing::info!(channel = %channel, "listening for events on redis");
                    backoff = Duration::from_millis(100);
                    let mut messages = pubsub.on_message();
                    while let Some(msg) = messages.next().await {
                        let text: String = match msg.get_payload() {
                            Ok(t) => t,
                            Err(_) => continue,
                        };
                        match serde_json::from_str::<DomainEvent>(&text) {
                            Ok(e) => {
                                let _ = local.send(Arc::new(e));
                            }
                            Err(e) => tracing::warn!(error = %e, "ignoring a malformed event from redis"),
                        }
                    }
                    tracing::warn!("redis event subscription ended; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "redis SUBSCRIBE failed"),
            },
            Err(e) => tracing::warn!(error = %e, "redis unavailable for events; retrying"),
        }
        metrics.redis_error();
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
