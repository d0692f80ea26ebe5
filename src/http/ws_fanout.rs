//! Shared subscription executions. The subscribers of a replica with the
//! same document, operation, variables, organization and role share one
//! GraphQL execution: each event is resolved once and its answer
//! serialized once; a subscriber only frames it with its own id. What a
//! subscriber costs is its socket, its id and a receiver, not a GraphQL
//! request of its own.
//!
//! A subscription whose document says `after` (a replay after a cursor)
//! runs on its own: its events depend on where it started.

use crate::auth::Principal;
use crate::domain::Role;
use futures_util::{FutureExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Answers a member may fall behind its group before it is ended.
const BACKLOG: usize = 1024;

/// A GraphQL execution's answers.
pub type Responses = std::pin::Pin<Box<dyn futures_util::Stream<Item = async_graphql::Response> + Send>>;

/// What makes two subscriptions the same execution.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Key {
    query: String,
    operation: Option<String>,
    /// The variables as JSON.
    variables: String,
    organization: Uuid,
    role: Role,
}

impl Key {
    /// The key of `request` run by `who`, or `None` when it must run on
    /// its own (a replay after a cursor).
    pub fn of(request: &async_graphql::Request, who: &Principal) -> Option<Key> {
        if request.query.contains("after") {
            return None;
        }
        Some(Key {
            query: request.query.clone(),
            operation: request.operation_name.clone(),
            variables: serde_json::to_string(&request.variables).ok()?,
            organization: who.organization_id,
            role: who.role,
        })
    }
}

/// One answer of a shared execution, serialized once.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The whole response as JSON: a `next` message's payload.
    pub payload: Arc<str>,
    /// For a refusal (the first answer, errors and no data): the errors
    /// as JSON, an `error` message's payload.
    pub refusal: Option<Arc<str>>,
    /// The answer's error codes, for the metrics.
    pub codes: Arc<[String]>,
}

impl Answer {
    fn of(resp: async_graphql::Response, first: bool) -> Answer {
        let codes: Arc<[String]> = super::graphql::codes(&resp.errors).into();
        let refused = first && resp.data == async_graphql::Value::Null && !resp.errors.is_empty();
        let refusal = refused.then(|| serde_json::to_string(&resp.errors).unwrap_or_else(|_| "[]".into()).into());
        let payload = serde_json::to_string(&resp).unwrap_or_else(|_| "null".into()).into();
        Answer { payload, refusal, codes }
    }
}

/// One execution and who listens to it.
struct Group {
    /// Answers, then `None` when the execution ended.
    answers: broadcast::Sender<Option<Answer>>,
    members: AtomicUsize,
    /// The execution has started listening for events.
    listening: AtomicBool,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// The replica's shared executions.
#[derive(Clone, Default)]
pub struct Hub {
    groups: Arc<Mutex<HashMap<Key, Arc<Group>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    /// Joins the execution of `key`, started with `start` when there is
    /// none.
    pub fn join(&self, key: Key, start: impl FnOnce() -> Responses) -> Membership {
        let mut groups = lock(&self.groups);
        if let Some(group) = groups.get(&key) {
            group.members.fetch_add(1, Ordering::SeqCst);
            let answers = group.answers.subscribe();
            return Membership { hub: self.clone(), key, group: group.clone(), answers };
        }
        let (tx, answers) = broadcast::channel(BACKLOG);
        let group = Arc::new(Group {
            answers: tx,
            members: AtomicUsize::new(1),
            listening: AtomicBool::new(false),
            task: Mutex::new(None),
        });
        let task = tokio::spawn(run(self.clone(), key.clone(), group.clone(), start()));
        *lock(&group.task) = Some(task);
        groups.insert(key.clone(), group.clone());
        Membership { hub: self.clone(), key, group, answers }
    }

    /// Subscriptions that listen through an execution they share, beyond
    /// the one listener each execution has: what the subscriber gauge adds
    /// to the event bus's receivers.
    pub fn shared_listeners(&self) -> usize {
        let groups = lock(&self.groups);
        let listening = groups.values().filter(|g| g.listening.load(Ordering::SeqCst));
        listening.map(|g| g.members.load(Ordering::SeqCst).saturating_sub(1)).sum()
    }

    /// Executions running now.
    pub fn executions(&self) -> usize {
        lock(&self.groups).len()
    }

    /// Forgets `group` (if `key` still names it).
    fn remove(&self, key: &Key, group: &Arc<Group>) {
        let mut groups = lock(&self.groups);
        if groups.get(key).is_some_and(|g| Arc::ptr_eq(g, group)) {
            groups.remove(key);
        }
    }
}

/// Runs a group's execution: each answer serialized once and sent to every
/// member; a panicking resolver ends it with INTERNAL, never the replica.
async fn run(hub: Hub, key: Key, group: Arc<Group>, mut responses: Responses) {
    let mut first = true;
    loop {
        let next = std::panic::AssertUnwindSafe(responses.next()).catch_unwind();
        tokio::pin!(next);
        // The first poll runs the resolver, which starts listening.
        let item = match futures_util::poll!(&mut next) {
            Poll::Ready(item) => item,
            Poll::Pending => {
                group.listening.store(true, Ordering::SeqCst);
                next.await
            }
        };
        let answer = match item {
            Ok(Some(mut resp)) => {
                resp.errors = resp.errors.into_iter().map(|e| super::graphql::with_code(e, &key.query)).collect();
                Answer::of(resp, first)
            }
            Ok(None) => break,
            Err(_) => Answer::of(super::ws::refusal(&crate::error::AppError::internal("a resolver panicked")), true),
        };
        first = false;
        let ends = answer.refusal.is_some();
        let _ = group.answers.send(Some(answer));
        if ends {
            break;
        }
    }
    // Forgotten before the end is announced: whoever joins later starts a
    // new execution instead of waiting on this one.
    hub.remove(&key, &group);
    let _ = group.answers.send(None);
}

/// A subscriber's place in a group; dropping it leaves, and the last to
/// leave ends the execution.
pub struct Membership {
    hub: Hub,
    key: Key,
    group: Arc<Group>,
    /// The group's answers from the moment this member joined.
    pub answers: broadcast::Receiver<Option<Answer>>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        if self.group.members.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.hub.remove(&self.key, &self.group);
            if let Some(task) = lock(&self.group.task).take() {
                task.abort();
            }
        }
    }
}

/// Where a member's answers go.
pub struct Delivery {
    /// The socket's outgoing queue.
    pub out: super::ws_outbox::Outbox,
    /// Told the subscription id when the subscription ends.
    pub done: tokio::sync::mpsc::UnboundedSender<String>,
    /// The subscription id.
    pub id: String,
    /// The data message's type (`next`, or `data` in the older protocol).
    pub next_type: &'static str,
    /// The older protocol wraps an `error` payload's errors in an object.
    pub legacy: bool,
}

/// Sends a member its group's answers, each framed with its id, until the
/// execution ends, the member falls [`BACKLOG`] answers behind (one error,
/// then `complete`), or the socket is gone. `on_first` hears the first
/// answer's error codes.
pub async fn deliver(mut member: Membership, d: Delivery, on_first: impl FnOnce(&[String])) {
    use axum::extract::ws::Message;
    let id = serde_json::to_string(&d.id).unwrap_or_default();
    let frame =
        |ty: &str, payload: &str| Message::Text(format!(r#"{{"type":"{ty}","id":{id},"payload":{payload}}}"#).into());
    let mut on_first = Some(on_first);
    loop {
        let msg = match member.answers.recv().await {
            Ok(Some(answer)) => {
                if let Some(f) = on_first.take() {
                    f(&answer.codes);
                }
                if let Some(errors) = &answer.refusal {
                    let payload = if d.legacy { format!(r#"{{"errors":{errors}}}"#) } else { errors.to_string() };
                    let _ = d.out.send(frame("error", &payload)).await;
                    let _ = d.done.send(d.id);
                    return;
                }
                frame(d.next_type, &answer.payload)
            }
            Ok(None) | Err(broadcast::error::RecvError::Closed) => break,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                let e = crate::error::AppError::LimitExceeded(format!(
                    "this subscriber fell {n} events behind and was ended; subscribe again"
                ));
                let resp = async_graphql::Response::from_errors(vec![e.to_server_error()]);
                let _ = d.out.send(frame(d.next_type, &serde_json::to_string(&resp).unwrap_or_default())).await;
                break;
            }
        };
        if d.out.send(msg).await.is_err() {
            let _ = d.done.send(d.id);
            return;
        }
    }
    let _ = d.out.send(Message::Text(format!(r#"{{"type":"complete","id":{id}}}"#).into())).await;
    let _ = d.done.send(d.id);
}
