//! GraphQL over HTTP, as the GraphQL-over-HTTP specification says:
//! POST with JSON and GET for queries; mutations over GET are refused (405);
//! `application/graphql-response+json` when the client accepts it, with 400
//! for requests that never reached execution; `application/json` otherwise,
//! with 200 for every well-formed request.

use super::AppState;
use crate::auth::{Credential, Principal};
use crate::graphql::documents::Documents;
use crate::graphql::loaders::Loaders;
use crate::telemetry::spans;
use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError};
use axum::extract::{FromRequestParts, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response as HttpResponse};
use futures_util::FutureExt;
use serde_json::{json, Value};
use std::time::Instant;
use tracing::Instrument;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The media type the client will get.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Media {
    GraphqlResponse,
    Json,
}

impl Media {
    fn header(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// Picks the response type from `Accept`; `None` when nothing acceptable.
fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    let types: Vec<&str> = accept.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).collect();
    if types.contains(&GRAPHQL_RESPONSE) {
        Some(Media::GraphqlResponse)
    } else if types.iter().any(|t| matches!(*t, JSON | "application/*" | "*/*" | "")) {
        Some(Media::Json)
    } else {
        None
    }
}

fn reply(status: StatusCode, media: Media, body: Value) -> HttpResponse {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, media.header());
    resp
}

/// A request the server could not take as GraphQL (bad JSON, no query).
fn bad_request(media: Media, message: &str) -> Answer {
    let e = crate::error::AppError::Validation { message: message.to_owned(), details: vec![] };
    refused(media, StatusCode::BAD_REQUEST, &e, false)
}

/// A body past `MAX_BODY_BYTES` (or cut off while it was read).
fn too_large(media: Media, limit: usize) -> Answer {
    let e =
        crate::error::AppError::LimitExceeded(format!("the body is not a complete request of at most {limit} bytes"));
    refused(media, StatusCode::PAYLOAD_TOO_LARGE, &e, false)
}

/// `POST /graphql` with a JSON body. The credential in the headers is
/// checked before the body is read, so a caller without one costs no
/// buffering; the body is then read within `MAX_BODY_BYTES` as it streams.
pub async fn post_handler(State(s): State<AppState>, req: axum::extract::Request) -> HttpResponse {
    let (parts, body) = req.into_parts();
    let Some(media) = negotiate(&parts.headers) else {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.split(';').next().map(str::trim) != Some(JSON) {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json").into_response();
    }
    let limit = s.max_body_bytes;
    let read = async move {
        let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| too_large(media, limit))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|_| bad_request(media, "the body is not valid JSON"))?;
        to_request(value).map_err(|msg| bad_request(media, &msg))
    };
    execute(s, media, false, &parts, read).await
}

/// `GET /graphql`: a WebSocket upgrade, or a query in the query string.
pub async fn get_or_upgrade(State(s): State<AppState>, req: axum::extract::Request) -> HttpResponse {
    let (mut parts, _) = req.into_parts();
    let wants_ws = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if wants_ws {
        if !s.origins.allows_websocket(&parts.headers) {
            return (StatusCode::FORBIDDEN, "this page's origin may not open a WebSocket here (WS_ORIGINS)")
                .into_response();
        }
        return match axum::extract::ws::WebSocketUpgrade::from_request_parts(&mut parts, &s).await {
            Ok(ws) => {
                let address = client(&s, &parts);
                super::ws::upgrade(s, ws, parts.headers, address)
            }
            Err(rejection) => rejection.into_response(),
        };
    }
    get_handler(s, parts).await
}

/// `GET /graphql?query=...`: queries only.
async fn get_handler(s: AppState, parts: axum::http::request::Parts) -> HttpResponse {
    let Some(media) = negotiate(&parts.headers) else {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    };
    let raw = parts.uri.query().unwrap_or("").to_owned();
    let read = async move {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(&raw).map_err(|_| bad_request(media, "malformed query string"))?;
        let mut obj = serde_json::Map::new();
        for (k, v) in pairs {
            let value = match k.as_str() {
                "variables" | "extensions" => serde_json::from_str::<Value>(&v)
                    .map_err(|_| bad_request(media, &format!("`{k}` is not valid JSON")))?,
                _ => Value::String(v),
            };
            obj.insert(k, value);
        }
        to_request(Value::Object(obj)).map_err(|msg| bad_request(media, &msg))
    };
    execute(s, media, true, &parts, read).await
}

/// The credential in `Authorization` / `x-api-key`.
pub(crate) fn credential(headers: &HeaderMap) -> Credential {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    Credential::from_parts(get("authorization"), get("x-api-key"))
}

/// Checks the request's shape the way the spec asks, then builds it.
fn to_request(value: Value) -> Result<Request, String> {
    let Value::Object(obj) = &value else {
        return Err("the request must be a JSON object".into());
    };
    // Apollo's automatic persisted queries send a hash alone at first.
    let hash_only = obj.get("extensions").and_then(|e| e.get("persistedQuery")).is_some();
    match obj.get("query") {
        Some(Value::String(_)) => {}
        None | Some(Value::Null) if hash_only => {}
        _ => return Err("`query` must be a string".into()),
    }
    if !matches!(obj.get("operationName"), None | Some(Value::Null | Value::String(_))) {
        return Err("`operationName` must be a string".into());
    }
    for key in ["variables", "extensions"] {
        if !matches!(obj.get(key), None | Some(Value::Null | Value::Object(_))) {
            return Err(format!("`{key}` must be an object"));
        }
    }
    serde_json::from_value(value).map_err(|e| format!("malformed request: {e}"))
}

/// The operation the request will run, once parsed within the limits (the
/// parsed document is kept in the request, so the schema does not parse it
/// again).
pub(crate) fn operation_type(
    req: &mut Request,
    documents: &Documents,
) -> Result<(Option<OperationType>, Option<String>), ServerError> {
    let doc = documents.parse(&req.query)?;
    let op = match &req.operation_name {
        Some(n) => doc.operations.iter().find(|(k, _)| k.map(|k| k.as_str()) == Some(n.as_str())),
        None => doc.operations.iter().next(),
    };
    let (ty, name) = (op.map(|(_, o)| o.node.ty), op.and_then(|(k, _)| k.map(|k| k.to_string())));
    req.set_parsed_query(doc);
    Ok((ty, name))
}

/// An HTTP answer and the error codes it carries, for the metrics.
struct Answer {
    response: HttpResponse,
    codes: Vec<String>,
}

/// The public codes of `errors` (every error has one after [`with_code`]).
pub(crate) fn codes(errors: &[ServerError]) -> Vec<String> {
    let code = |e: &ServerError| match e.extensions.as_ref().and_then(|x| x.get("code")) {
        Some(async_graphql::Value::String(c)) => c.clone(),
        Some(async_graphql::Value::Enum(c)) => c.to_string(),
        _ => "INTERNAL".to_owned(),
    };
    errors.iter().map(code).collect()
}

/// An answer carrying one error (and no data, when `data_null`).
fn refused(media: Media, status: StatusCode, e: &crate::error::AppError, data_null: bool) -> Answer {
    let body = if data_null {
        json!({ "data": null, "errors": [e.to_graphql_json()] })
    } else {
        json!({ "errors": [e.to_graphql_json()] })
    };
    Answer { response: reply(status, media, body), codes: vec![e.code().to_owned()] }
}

/// What kind of operation a request was, as a metrics label.
pub(crate) fn kind_label(ty: Option<OperationType>) -> &'static str {
    match ty {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "unknown",
    }
}

/// An admitted request: who sent it, its operation's type and name.
struct Admitted {
    principal: Principal,
    kind: Option<OperationType>,
    name: Option<String>,
    /// The persisted-query hash to keep once the document has passed the
    /// checks that run with it (depth, complexity).
    to_register: Option<String>,
}

/// Everything an authenticated request passes before it runs: its
/// persisted document, its method and its rate. The refusal otherwise.
async fn admit(
    s: &AppState,
    req: &mut Request,
    media: Media,
    is_get: bool,
    principal: Principal,
) -> Result<Admitted, Answer> {
    // A persisted document is filled in before any check, so that it
    // passes every check a sent one does.
    let to_register = s.persisted.resolve(req).await.map_err(|e| request_error(media, vec![e], ""))?;
    let (kind, name) = match operation_type(req, &s.documents) {
        Err(e) => return Err(request_error(media, vec![e], &req.query)),
        Ok((Some(OperationType::Mutation | OperationType::Subscription), _)) if is_get => {
            let mut response = (StatusCode::METHOD_NOT_ALLOWED, "mutations must use POST").into_response();
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return Err(Answer { response, codes: vec!["METHOD_NOT_ALLOWED".into()] });
        }
        Ok(found) => found,
    };
    if !s.limiter.allow(&principal.limit_key()).await {
        s.metrics.rate_limited();
        let e = crate::error::AppError::LimitExceeded("too many requests for this credential; slow down".into());
        return Err(too_many(media, &e, 1));
    }
    Ok(Admitted { principal, kind, name, to_register })
}

/// The answer to a document its weight kept out: 429 with `Retry-After`
/// when waiting would let it in.
fn refused_by_weight(s: &AppState, media: Media, refusal: &super::admission::Refusal) -> Answer {
    s.metrics.rate_limited();
    match refusal.retry_after {
        Some(secs) => too_many(media, &refusal.error, secs),
        // Never run, and no wait helps: a request error, like any limit.
        None => request_error(media, vec![refusal.error.to_server_error()], ""),
    }
}

/// Runs an admitted request within its time limit (on a thread of its own
/// when `heavy`). A panic in a resolver becomes this request's INTERNAL
/// error, never a dropped connection.
async fn run(
    s: &AppState,
    req: Request,
    principal: Principal,
    kind: Option<OperationType>,
    heavy: bool,
) -> Result<Response, crate::error::AppError> {
    // Queries may read a replica; a mutation reads its own writes.
    let db = match kind {
        Some(OperationType::Query) => s.reads.for_queries(),
        _ => s.reads.primary(),
    };
    let loaders = Loaders::new(db.clone(), principal.organization_id, s.loader_delay, s.quotes.clone());
    let run = std::panic::AssertUnwindSafe(s.schema.execute(req.data(principal).data(loaders))).catch_unwind();
    let timed = tokio::time::timeout(s.request_timeout, run);
    match super::admission::run_on_own_thread_if(heavy, timed).await {
        Ok(Ok(resp)) => Ok(resp),
        Ok(Err(_)) => Err(crate::error::AppError::internal("a resolver panicked")),
        Err(_) => Err(crate::error::AppError::LimitExceeded(format!(
            "the request ran past its time limit of {} ms; retry (writes with their idempotency key)",
            s.request_timeout.as_millis()
        ))),
    }
}

/// Errors with no path never reached a resolver: the document or its
/// variables were refused (a request error in the spec's terms).
fn rejected(resp: &Response) -> bool {
    resp.data == async_graphql::Value::Null && !resp.errors.is_empty() && resp.errors.iter().all(|e| e.path.is_empty())
}

/// The HTTP form of an executed request's response.
fn render(media: Media, resp: Response, query: &str) -> Answer {
    if rejected(&resp) {
        return request_error(media, resp.errors, query);
    }
    let errors: Vec<ServerError> = resp.errors.into_iter().map(|e| with_code(e, query)).collect();
    // Serialised straight from the response tree: going through
    // serde_json::Value would copy every node of a large page first.
    let body = Body { data: &resp.data, errors: &errors, extensions: &resp.extensions };
    match serde_json::to_vec(&body) {
        Ok(bytes) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, media.header());
            Answer { response, codes: codes(&errors) }
        }
        // Never an empty 200: the request's INTERNAL error, logged.
        Err(e) => {
            let e = crate::error::AppError::internal(format!("serialising the response: {e}"));
            refused(media, StatusCode::OK, &e, true)
        }
    }
}

/// The caller of a request with these headers, or the refusal: 401, or
/// 429 with `Retry-After` once its address has failed too often.
pub(crate) async fn authenticate(
    s: &AppState,
    parts: &axum::http::request::Parts,
) -> Result<Principal, crate::error::AppError> {
    s.auth.authenticate(&credential(&parts.headers), client(s, parts)).await
}

/// The client address of a request (the trusted proxy header's, else the
/// TCP peer's).
pub(crate) fn client(s: &AppState, parts: &axum::http::request::Parts) -> Option<std::net::IpAddr> {
    let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    s.auth.client(&parts.headers, peer)
}

/// A 429 with `Retry-After`.
fn too_many(media: Media, e: &crate::error::AppError, retry_after_secs: u64) -> Answer {
    let mut answer = refused(media, StatusCode::TOO_MANY_REQUESTS, e, false);
    answer.response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    answer
}

/// The HTTP answer to a refused credential.
fn unauthenticated(s: &AppState, media: Media, e: &crate::error::AppError) -> Answer {
    if matches!(e, crate::error::AppError::LimitExceeded(_)) {
        return too_many(media, e, s.auth.retry_after_secs());
    }
    let mut answer = refused(media, StatusCode::UNAUTHORIZED, e, false);
    answer.response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    answer
}

/// Authenticates, reads, admits, runs and renders one request; its answer
/// with the operation's type and name.
async fn answer(
    s: &AppState,
    parts: &axum::http::request::Parts,
    media: Media,
    is_get: bool,
    read: impl std::future::Future<Output = Result<Request, Answer>>,
) -> (Answer, Option<OperationType>, Option<String>, Option<uuid::Uuid>) {
    // The credential first: a caller without one costs no reading or parsing.
    let principal = match authenticate(s, parts).await {
        Ok(p) => p,
        Err(e) => return (unauthenticated(s, media, &e), None, None, None),
    };
    let organization = Some(principal.organization_id);
    let mut req = match read.await {
        Ok(req) => req,
        Err(refusal) => return (refusal, None, None, organization),
    };
    let Admitted { principal, kind, name, to_register } = match admit(s, &mut req, media, is_get, principal).await {
        Ok(admitted) => admitted,
        Err(refusal) => return (refusal, None, None, organization),
    };
    spans::admitted(&tracing::Span::current(), kind_label(kind), name.as_deref(), principal.organization_id);
    let _slot = match s.tenants.enter(principal.organization_id).await {
        Ok(slot) => slot,
        Err(e) => return (too_many(media, &e, 1), kind, name, organization),
    };
    let weight = s.weights.weigh(&mut req).await;
    let admitted = match s.admission.admit(&principal, weight).await {
        Ok(admitted) => admitted,
        Err(refusal) => return (refused_by_weight(s, media, &refusal), kind, name, organization),
    };
    let query = req.query.clone();
    let answer = match run(s, req, principal, kind, admitted.heavy).await {
        Ok(resp) => {
            if let Some(hash) = to_register.filter(|_| !rejected(&resp)) {
                s.persisted.register(hash, &query).await;
            }
            render(media, resp, &query)
        }
        Err(e) => refused(media, StatusCode::OK, &e, true),
    };
    (answer, kind, name, organization)
}

/// Answers one request inside its span, then records it in the metrics.
async fn execute(
    s: AppState,
    media: Media,
    is_get: bool,
    parts: &axum::http::request::Parts,
    read: impl std::future::Future<Output = Result<Request, Answer>>,
) -> HttpResponse {
    let started = Instant::now();
    let span = spans::request(&parts.headers);
    let answering = answer(&s, parts, media, is_get, read).instrument(span.clone());
    let ((answer, kind, name, organization), statements) = crate::metrics::counting_statements(answering).await;
    let duration = started.elapsed();
    spans::finished(&span, &answer.codes);
    let kind = kind_label(kind);
    let (operation, codes) = (name.as_deref(), answer.codes.as_slice());
    s.metrics.request(crate::metrics::RequestRecord { operation, organization, kind, codes, duration, statements });
    tracing::info!(
        operation = operation.unwrap_or("-"),
        duration_ms = duration.as_secs_f64() * 1000.0,
        errors = codes.len(),
        "graphql request"
    );
    answer.response
}

/// An executed response as the spec shapes it.
#[derive(serde::Serialize)]
struct Body<'a> {
    data: &'a async_graphql::Value,
    #[serde(skip_serializing_if = "<[ServerError]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

fn request_error(media: Media, errors: Vec<ServerError>, query: &str) -> Answer {
    let errors: Vec<ServerError> = errors.into_iter().map(|e| with_code(e, query)).collect();
    let status = if media == Media::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Answer { response: reply(status, media, json!({ "errors": errors })), codes: codes(&errors) }
}

/// Gives errors raised by the GraphQL engine itself (syntax, unknown field,
/// bad argument value) the contract's shape: `VALIDATION_FAILED` with the
/// argument named in `details` where the message names one.
pub(crate) fn with_code(e: ServerError, query: &str) -> ServerError {
    let has_code = e.extensions.as_ref().is_some_and(|x| x.get("code").is_some());
    if has_code {
        return e;
    }
    if e.message.contains("too complex")
        || e.message.contains("nested too deep")
        || e.message.contains("recursive depth")
        || e.message.contains("recursion depth")
    {
        let mut limit = crate::graphql::limits::exceeded(e.message.clone());
        limit.locations = e.locations;
        return limit;
    }
    let field = quoted_after(&e.message, "argument \"")
        .or_else(|| quoted_after(&e.message, "variable \"$"))
        .or_else(|| e.locations.first().and_then(|p| argument_at(query, p.line, p.column)));
    let refusal = match field {
        Some(f) => crate::error::AppError::invalid(f, e.message.clone()),
        None => crate::error::AppError::Validation { message: e.message.clone(), details: vec![] },
    };
    ServerError { locations: e.locations, ..refusal.to_server_error() }
}

/// The argument whose value starts at `line:column` of `query` (`id` in
/// `account(id: $id)`), for engine errors that only give a position.
fn argument_at(query: &str, line: usize, column: usize) -> Option<String> {
    let text = query.lines().nth(line.checked_sub(1)?)?;
    let before: String = text.chars().take(column.checked_sub(1)?).collect();
    let before = before.trim_end().strip_suffix(':')?.trim_end();
    let name: String = before.chars().rev().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    (!name.is_empty()).then(|| name.chars().rev().collect())
}

fn quoted_after(text: &str, marker: &str) -> Option<String> {
    let start = text.find(marker)? + marker.len();
    let end = text[start..].find('"')?;
    Some(text[start..start + end].to_owned())
}
