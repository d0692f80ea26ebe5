//! GraphQL over WebSocket on `/graphql`: the `graphql-transport-ws`
//! protocol and the older `graphql-ws` (subscriptions-transport-ws) one.
//!
//! Written here rather than taken from async-graphql 7.2's transport, which
//! closes with 1002/1011 where the protocol asks for 4400/4401/4403, has no
//! initialisation timeout, and lets a duplicate subscription id replace the
//! first silently. This one also closes a socket when its credential
//! expires or its API key is revoked (4403), caps subscriptions per socket
//! and sockets per credential, counts every operation against the
//! credential's rate limit and in the metrics, pings and closes a peer that
//! misses a pong, and closes with 1001 on shutdown.

use super::ws_fanout::{deliver, Delivery, Key};
use super::ws_outbox::{write_all, Outbox};
use super::AppState;
use crate::auth::{Credential, Principal};
use crate::graphql::limits::exceeded;
use crate::graphql::loaders::Loaders;
use crate::telemetry::spans;
use crate::tenant_slots::Slot;
use async_graphql::Request;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::{FutureExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// The longest subscription id a socket accepts.
const MAX_ID_CHARS: usize = 128;

/// The two subprotocols.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Protocol {
    /// `graphql-transport-ws` (graphql-ws library, current).
    Transport,
    /// `graphql-ws` (subscriptions-transport-ws, Apollo's older clients).
    Legacy,
}

impl Protocol {
    fn data(self) -> &'static str {
        match self {
            Protocol::Transport => "next",
            Protocol::Legacy => "data",
        }
    }
}

/// WebSocket limits and timers.
#[derive(Clone, Copy, Debug)]
pub struct WsConfig {
    /// Time allowed between opening and `connection_init`.
    pub init_timeout: Duration,
    /// Interval of server pings (keep-alive); a peer that has sent nothing,
    /// not even a pong, for a whole interval after a ping is closed.
    pub keepalive: Duration,
    /// Most live subscriptions on one socket.
    pub max_subscriptions: usize,
    /// Most sockets one credential may hold open.
    pub max_sockets_per_credential: usize,
    /// Bytes queued for one socket before its producers wait.
    pub outbox_bytes: usize,
    /// How long a producer waits for room (and a write may stall) before
    /// the socket is closed as a slow consumer.
    pub slow_consumer: Duration,
    /// Largest message after `connection_ack`.
    pub max_message_bytes: usize,
    /// Largest message before it (`connection_init` only).
    pub max_init_bytes: usize,
    /// Longest a query or mutation may run (a subscription's set-up too).
    pub operation_timeout: Duration,
}

/// Accepts the upgrade with whichever subprotocol the client offers.
pub fn upgrade(state: AppState, ws: WebSocketUpgrade, headers: HeaderMap, address: Option<IpAddr>) -> Response {
    // tungstenite preallocates a 128 KiB read buffer per socket; GraphQL
    // messages are small, and 10,000 idle subscribers should not cost 1.2 GiB.
    ws.protocols(["graphql-transport-ws", "graphql-ws"])
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(state.ws.max_message_bytes.max(state.ws.max_init_bytes))
        .max_frame_size(state.ws.max_message_bytes.max(state.ws.max_init_bytes))
        .on_upgrade(move |socket| async move { Connection::run(state, socket, headers, address).await })
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

/// The credential in a `connection_init` payload (`Authorization`,
/// `x-api-key`, either at the top or under `headers`), else the upgrade
/// request's headers.
fn credential(payload: &Value, headers: &HeaderMap) -> Credential {
    let find = |name: &str| -> Option<String> {
        for scope in [payload, &payload["headers"]] {
            if let Some(obj) = scope.as_object() {
                if let Some((_, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                    return v.as_str().map(str::to_owned);
                }
            }
        }
        headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    Credential::from_parts(find("authorization").as_deref(), find("x-api-key").as_deref())
}

struct Connection {
    state: AppState,
    protocol: Protocol,
    out: Outbox,
    principal: Option<Principal>,
    /// The credential of `connection_init`, to check again when news of
    /// revocations was missed.
    credential: Credential,
    /// The client's address, for the failed-authentication limit.
    address: Option<IpAddr>,
    /// The API key this socket holds, for the revocation watcher.
    key_hold: Option<crate::auth::revocations::Held>,
    init_seen: bool,
    subs: HashMap<String, JoinHandle<()>>,
    done: mpsc::UnboundedSender<String>,
}

/// Why the connection loop stops: a close frame to send, or none.
type Stop = Option<Message>;

impl Connection {
    async fn run(state: AppState, socket: WebSocket, headers: HeaderMap, address: Option<IpAddr>) {
        let protocol = match socket.protocol().and_then(|p| p.to_str().ok()) {
            Some("graphql-ws") => Protocol::Legacy,
            _ => Protocol::Transport,
        };
        let cfg = state.ws;
        let (sink, mut stream) = socket.split();
        let (out, queue) = Outbox::new(cfg.outbox_bytes, cfg.slow_consumer);
        let writer = tokio::spawn(write_all(sink, queue, cfg.slow_consumer.min(cfg.keepalive)));
        let (done, mut done_rx) = mpsc::unbounded_channel::<String>();
        let mut shutdown = state.shutdown.subscribe();
        let _live = state.sockets.enter();
        let mut revoked = state.revocations.subscribe();
        let credential = Credential::default();
        let subs = HashMap::new();
        let mut conn = Connection {
            state,
            protocol,
            out,
            principal: None,
            credential,
            address,
            key_hold: None,
            init_seen: false,
            subs,
            done,
        };
        let slow = conn.out.clone();
        let init_deadline = tokio::time::sleep(cfg.init_timeout);
        tokio::pin!(init_deadline);
        let mut ping = tokio::time::interval(cfg.keepalive);
        ping.tick().await;
        let mut counted: Option<String> = None;
        // A ping sent and nothing heard since: the peer is gone if the next
        // tick finds it so.
        let mut awaiting_pong = false;
        let stop: Stop = loop {
            let expiry = conn.principal.as_ref().and_then(|p| p.expires_at);
            let until_expiry = async {
                match expiry {
                    Some(t) => tokio::time::sleep((t - chrono::Utc::now()).to_std().unwrap_or_default()).await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                _ = &mut init_deadline, if conn.principal.is_none() => {
                    Some(Some(close(4408, "Connection initialisation timeout")))
                }
                _ = until_expiry => Some(Some(close(4403, "Forbidden: the credential expired"))),
                _ = shutdown.changed() => Some(Some(close(1001, "the server is shutting down"))),
                _ = slow.slow() => {
                    tracing::info!("closing a WebSocket whose client stopped reading");
                    Some(Some(close(1008, "slow consumer")))
                }
                news = revoked.recv() => conn.revocation(news).await,
                _ = ping.tick(), if conn.principal.is_some() => conn.keepalive(&mut awaiting_pong).await,
                Some(id) = done_rx.recv() => {
                    conn.subs.remove(&id);
                    None
                }
                msg = stream.next() => {
                    // Anything from the peer (a pong, a message) shows it is alive.
                    awaiting_pong &= !matches!(msg, Some(Ok(_)));
                    conn.on_peer(msg, &headers, &mut counted).await
                }
            };
            if let Some(stop) = step {
                break stop;
            }
        };
        conn.finish(stop, writer, counted).await;
    }

    /// News of a revoked key: closes the socket when it is this one's.
    async fn revocation(&self, news: Result<uuid::Uuid, broadcast::error::RecvError>) -> Option<Stop> {
        match news {
            Ok(id) if self.principal.as_ref().and_then(|p| p.api_key_id) == Some(id) => {
                Some(Some(close(4403, "Forbidden: the API key was revoked")))
            }
            Ok(_) | Err(broadcast::error::RecvError::Closed) => None,
            // Missed some news: ask the database about this key.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let invalid = self.principal.is_some()
                    && self.state.auth.authenticate(&self.credential, self.address).await.is_err();
                invalid.then(|| Some(close(4403, "Forbidden: the credential is no longer valid")))
            }
        }
    }

    /// Whether the socket's credential still authenticates, unexpired.
    async fn credential_still_valid(&self, principal: &Principal) -> bool {
        let unexpired = principal.expires_at.is_none_or(|t| t > chrono::Utc::now());
        unexpired && self.state.auth.authenticate(&self.credential, self.address).await.is_ok()
    }

    /// A keepalive tick: closes a socket whose peer missed the last pong,
    /// else pings it.
    async fn keepalive(&self, awaiting_pong: &mut bool) -> Option<Stop> {
        if *awaiting_pong {
            tracing::info!("closing a WebSocket whose peer missed a pong");
            return Some(Some(close(1001, "Pong timeout")));
        }
        let msg = match self.protocol {
            Protocol::Transport => json!({"type": "ping"}),
            Protocol::Legacy => json!({"type": "ka"}),
        };
        // A protocol-level ping as well: every WebSocket client answers it,
        // whatever its GraphQL subprotocol.
        // Not waited for: a client that reads nothing is the slow-consumer
        // rule's, and its pong will be missing anyway.
        let _ = self.out.offer(text(msg));
        let _ = self.out.offer(Message::Ping(axum::body::Bytes::new()));
        *awaiting_pong = true;
        None
    }

    /// What the peer sent (or that it left).
    async fn on_peer(
        &mut self,
        msg: Option<Result<Message, axum::Error>>,
        headers: &HeaderMap,
        counted: &mut Option<String>,
    ) -> Option<Stop> {
        match msg {
            // tungstenite refuses a message past the limit as it reads it;
            // the peer is told why (1009) rather than left with a cut socket.
            Some(Err(e)) if e.to_string().contains("too long") => {
                Some(Some(close(1009, "The message is past the size limit")))
            }
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Some(None),
            Some(Ok(Message::Text(t))) if self.principal.is_none() && t.len() > self.state.ws.max_init_bytes => {
                Some(Some(close(4400, "Only a small connection_init is accepted before the acknowledgement")))
            }
            Some(Ok(Message::Text(t))) => self.handle(t.as_str(), headers, counted).await,
            Some(Ok(Message::Binary(_))) => Some(Some(close(4400, "Binary messages are not supported"))),
            Some(Ok(_)) => None,
        }
    }

    /// Ends the socket: stops its subscriptions, sends the closing message,
    /// lets the writer drain and gives back the credential's socket slot.
    async fn finish(mut self, stop: Stop, writer: JoinHandle<()>, counted: Option<String>) {
        for (_, task) in self.subs.drain() {
            task.abort();
        }
        if let Some(msg) = stop {
            let _ = self.out.offer(msg);
        }
        drop(self.out);
        // A writer stuck on a client that reads nothing is not waited for.
        let mut writer = writer;
        if tokio::time::timeout(Duration::from_secs(1), &mut writer).await.is_err() {
            writer.abort();
        }
        if let Some(key) = counted {
            self.state.ws_credentials.release(&key);
        }
    }

    async fn handle(&mut self, raw: &str, headers: &HeaderMap, counted: &mut Option<String>) -> Option<Stop> {
        let Ok(msg) = serde_json::from_str::<Value>(raw) else {
            return Some(Some(close(4400, "Invalid message received")));
        };
        let kind = msg["type"].as_str().unwrap_or_default();
        match (self.protocol, kind) {
            (_, "connection_init") => {
                if self.init_seen {
                    return Some(Some(close(4429, "Too many initialisation requests")));
                }
                self.init_seen = true;
                let payload = msg.get("payload").cloned().unwrap_or(Value::Null);
                if !payload.is_null() && !payload.is_object() {
                    return Some(Some(close(4400, "Invalid connection_init payload")));
                }
                self.credential = credential(&payload, headers);
                let principal = match self.state.auth.authenticate(&self.credential, self.address).await {
                    Ok(p) => p,
                    Err(e) => return Some(self.refuse(&e.to_string()).await),
                };
                let key = principal.limit_key();
                if !self.state.ws_credentials.acquire(&key, self.state.ws.max_sockets_per_credential) {
                    return Some(self.refuse("Forbidden: too many sockets for this credential").await);
                }
                *counted = Some(key);
                self.key_hold = principal.api_key_id.map(|id| self.state.revocations.hold(id));
                self.principal = Some(principal);
                let ack = self.out.offer(text(json!({"type": "connection_ack"})));
                if self.protocol == Protocol::Legacy {
                    let _ = self.out.offer(text(json!({"type": "ka"})));
                }
                ack.err().map(|_| None)
            }
            (Protocol::Transport, "ping") => {
                let _ = self.out.offer(text(json!({"type": "pong"})));
                None
            }
            (Protocol::Transport, "pong") => None,
            (Protocol::Transport, "subscribe") | (Protocol::Legacy, "start") => self.subscribe(&msg, headers).await,
            (Protocol::Transport, "complete") | (Protocol::Legacy, "stop") => {
                let id = msg["id"].as_str().unwrap_or_default().to_owned();
                if let Some(task) = self.subs.remove(&id) {
                    task.abort();
                    if self.protocol == Protocol::Legacy {
                        let _ = self.out.offer(text(json!({"type": "complete", "id": id})));
                    }
                }
                None
            }
            (Protocol::Legacy, "connection_terminate") => Some(None),
            _ => Some(Some(close(4400, "Invalid message received"))),
        }
    }

    /// Refuses a connection_init: 4403 (transport) or connection_error (legacy).
    async fn refuse(&self, reason: &str) -> Stop {
        match self.protocol {
            Protocol::Transport => Some(close(4403, &format!("Forbidden: {reason}"))),
            Protocol::Legacy => {
                let _ = self.out.offer(text(json!({"type": "connection_error", "payload": {"message": reason}})));
                Some(close(4403, "Forbidden"))
            }
        }
    }

    async fn subscribe(&mut self, msg: &Value, headers: &HeaderMap) -> Option<Stop> {
        let Some(principal) = self.principal.clone() else {
            return Some(Some(close(4401, "Unauthorized")));
        };
        let Some(id) = msg["id"].as_str().filter(|i| !i.is_empty()).map(str::to_owned) else {
            return Some(Some(close(4400, "A subscription needs an id")));
        };
        // Ids are kept for the socket's life and echoed in every message.
        if id.chars().count() > MAX_ID_CHARS {
            return Some(Some(close(4400, &format!("A subscription id has at most {MAX_ID_CHARS} characters"))));
        }
        if self.subs.contains_key(&id) {
            return Some(Some(close(4409, &format!("Subscriber for {id} already exists"))));
        }
        let mut request: Request = match serde_json::from_value(msg["payload"].clone()) {
            Ok(r) => r,
            Err(_) => return Some(Some(close(4400, "Invalid subscribe payload"))),
        };
        // Parsed once here, within the limits, for the metrics' and the
        // span's labels too.
        let parsed = super::graphql::operation_type(&mut request, &self.state.documents);
        let (kind, name) = parsed.as_ref().map_or((None, None), Clone::clone);
        let kind = super::graphql::kind_label(kind);
        // Each operation is checked as an HTTP request would be: a key
        // revoked (or a token expired) before it started refuses it, even
        // while news of the revocation is still on its way to this socket.
        if !self.credential_still_valid(&principal).await {
            return Some(Some(close(4403, "Forbidden: the credential is no longer valid")));
        }
        let mut refusal = if let Err(e) = parsed {
            Some(super::graphql::with_code(e, &request.query))
        } else if self.subs.len() >= self.state.ws.max_subscriptions {
            Some(exceeded(format!("at most {} subscriptions per socket", self.state.ws.max_subscriptions)))
        } else if !self.state.limiter.allow(&principal.limit_key()).await {
            self.state.metrics.rate_limited();
            Some(exceeded("too many requests for this credential; slow down"))
        } else {
            None
        };
        // Weighed and charged as over HTTP; a query or mutation holds its
        // share of its organization's work while it runs.
        let mut share = None;
        if refusal.is_none() {
            let weight = self.state.weights.weigh(&mut request).await;
            match self.state.admission.admit(&principal, weight).await {
                Ok(admitted) => share = Some(admitted.share).filter(|_| kind != "subscription"),
                Err(r) => {
                    self.state.metrics.rate_limited();
                    refusal = Some(r.error.to_server_error());
                }
            }
        }
        if let Some(e) = refusal {
            self.state.metrics.request(crate::metrics::RequestRecord {
                operation: name.as_deref(),
                organization: Some(principal.organization_id),
                kind,
                codes: &super::graphql::codes(std::slice::from_ref(&e)),
                duration: std::time::Duration::ZERO,
                statements: 0,
            });
            let e = serde_json::to_value(&e).unwrap_or(Value::Null);
            let payload = if self.protocol == Protocol::Legacy { json!({"errors": [e]}) } else { json!([e]) };
            let _ = self.out.offer(text(json!({"type": "error", "id": id, "payload": payload})));
            return None;
        }
        let s = &self.state;
        // The operation's span covers its first answer (a subscription's
        // set-up), not the hours a subscription may then live.
        let span = spans::request(headers);
        spans::admitted(&span, kind, name.as_deref(), principal.organization_id);
        let organization = principal.organization_id;
        let loaders = move || {
            Loaders::new(s.reads.primary().clone(), organization, s.loader_delay, s.quotes.clone()).without_cache()
        };
        let record = {
            let (metrics, started, name) = (s.metrics.clone(), std::time::Instant::now(), name.clone());
            move |codes: &[String]| {
                metrics.request(crate::metrics::RequestRecord {
                    operation: name.as_deref(),
                    organization: Some(organization),
                    kind,
                    codes,
                    duration: started.elapsed(),
                    statements: 0,
                })
            }
        };
        if let Some(key) = Some(&principal).filter(|_| kind == "subscription").and_then(|p| Key::of(&request, p)) {
            // Expiry and revocation are the socket's to enforce, per member.
            let shared = Principal { expires_at: None, ..principal };
            let member = s.fanout.join(key, || s.schema.execute_stream(request.data(shared).data(loaders())));
            let (out, done, live) = (self.out.clone(), self.done.clone(), s.ws_operations.enter());
            let (next_type, legacy) = (self.protocol.data(), self.protocol == Protocol::Legacy);
            let delivery = Delivery { out, done, id: id.clone(), next_type, legacy };
            let task = tokio::spawn(async move {
                let _live = live;
                deliver(member, delivery, |codes| {
                    spans::finished(&span, codes);
                    record(codes);
                })
                .await
            });
            self.subs.insert(id, task);
            return None;
        }
        let query = request.query.clone();
        let mut responses = s.schema.execute_stream(request.data(principal).data(loaders()));
        let (out, done, protocol, sub_id) = (self.out.clone(), self.done.clone(), self.protocol, id.clone());
        let live = s.ws_operations.enter();
        let single = kind != "subscription";
        let guard = Guard { tenants: s.tenants.clone(), organization, timeout: s.ws.operation_timeout, single };
        let task = tokio::spawn(async move {
            let (_live, _share) = (live, share);
            let (mut next, _slot) = guard.first(&mut responses).instrument(span.clone()).await;
            // Taken, and so ended, with the first answer.
            let mut setup = Some(span);
            while let Some(mut resp) = next {
                resp.errors = resp.errors.into_iter().map(|e| super::graphql::with_code(e, &query)).collect();
                let first = setup.is_some();
                if let Some(span) = setup.take() {
                    let codes = super::graphql::codes(&resp.errors);
                    spans::finished(&span, &codes);
                    record(&codes);
                }
                // A request refused before execution is an `error` message.
                let refused = first && resp.data == async_graphql::Value::Null && !resp.errors.is_empty();
                let payload = serde_json::to_value(&resp).unwrap_or(Value::Null);
                let msg = if refused {
                    let errors = payload.get("errors").cloned().unwrap_or(Value::Null);
                    json!({"type": "error", "id": sub_id, "payload": if protocol == Protocol::Legacy { json!({"errors": errors}) } else { errors }})
                } else {
                    json!({"type": protocol.data(), "id": sub_id, "payload": payload})
                };
                if out.send(text(msg)).await.is_err() || refused {
                    let _ = done.send(sub_id);
                    return;
                }
                next = Guard::next(&mut responses).await;
            }
            let _ = out.send(text(json!({"type": "complete", "id": sub_id}))).await;
            let _ = done.send(sub_id);
        });
        self.subs.insert(id, task);
        None
    }
}

/// What an operation over a socket runs under, as over HTTP: its
/// organization's slot and the time limit for a query or mutation, and a
/// panic guard for every answer.
struct Guard {
    tenants: crate::tenant_slots::TenantSlots,
    organization: uuid::Uuid,
    timeout: Duration,
    /// A query or mutation (one answer), not a subscription.
    single: bool,
}

use super::ws_fanout::Responses;

impl Guard {
    /// The first answer (a subscription's first event may take its time),
    /// with the slot held while a query or mutation runs.
    async fn first(&self, responses: &mut Responses) -> (Option<async_graphql::Response>, Option<Slot>) {
        if !self.single {
            return (Self::next(responses).await, None);
        }
        let slot = match self.tenants.enter(self.organization).await {
            Ok(slot) => slot,
            Err(e) => return (Some(refusal(&e)), None),
        };
        match tokio::time::timeout(self.timeout, Self::next(responses)).await {
            Ok(resp) => (resp, Some(slot)),
            Err(_) => {
                let e = crate::error::AppError::LimitExceeded(format!(
                    "the operation ran past its time limit of {} ms; retry (writes with their idempotency key)",
                    self.timeout.as_millis()
                ));
                (Some(refusal(&e)), None)
            }
        }
    }

    /// The next answer, if any. A panicking resolver ends the operation
    /// with its INTERNAL error, never the socket.
    async fn next(responses: &mut Responses) -> Option<async_graphql::Response> {
        match std::panic::AssertUnwindSafe(responses.next()).catch_unwind().await {
            Ok(resp) => resp,
            Err(_) => {
                *responses = Box::pin(futures_util::stream::empty());
                Some(refusal(&crate::error::AppError::internal("a resolver panicked")))
            }
        }
    }
}

/// An answer carrying one error and no data.
pub(super) fn refusal(e: &crate::error::AppError) -> async_graphql::Response {
    async_graphql::Response::from_errors(vec![e.to_server_error()])
}
