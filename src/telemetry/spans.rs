//! The spans the gateway makes: one per GraphQL request (a child of the
//! caller's trace when it sends a W3C `traceparent`), one per DataLoader
//! batch and one per SQL statement; and the `traceparent` sent on to the
//! quote API.

use super::exporting;
use axum::http::HeaderMap;
use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::KeyValue;
use std::time::SystemTime;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The instrumentation scope of every span.
pub(super) const TRACER: &str = "accounts-gateway";

/// Longest statement text put on a span: enough to recognise it, bounded
/// for the exporter (the text has placeholders, never values).
const MAX_STATEMENT: usize = 2_000;

/// The span of one GraphQL request. Its name and attributes are filled in
/// by [`admitted`] and [`finished`] as they become known.
pub fn request(headers: &HeaderMap) -> tracing::Span {
    let span = tracing::info_span!(
        "graphql request",
        otel.name = "graphql",
        otel.kind = "server",
        otel.status_code = Empty,
        graphql.operation.name = Empty,
        graphql.operation.type = Empty,
        organization = Empty,
        outcome = Empty,
        error.codes = Empty,
    );
    if exporting() {
        let parent = opentelemetry::global::get_text_map_propagator(|p| {
            p.extract(&opentelemetry_http::HeaderExtractor(headers))
        });
        // Only fails when the span is disabled, and then nothing is exported.
        let _ = span.set_parent(parent);
    }
    span
}

/// Names the request span after its operation (`query AccountsPage`) and
/// records who sent it.
pub fn admitted(span: &tracing::Span, kind: &str, name: Option<&str>, organization: uuid::Uuid) {
    let title = format!("{kind} {}", name.unwrap_or("anonymous"));
    if exporting() {
        // The span has started by now (authentication ran in it), and a
        // started span takes a new name only this way.
        span.context().span().update_name(title.clone());
    }
    span.record("otel.name", title);
    span.record("graphql.operation.type", kind);
    if let Some(name) = name {
        span.record("graphql.operation.name", name);
    }
    span.record("organization", organization.to_string());
}

/// Records how the request ended: `ok`, or `error` with its error codes.
pub fn finished(span: &tracing::Span, codes: &[String]) {
    if codes.is_empty() {
        span.record("outcome", "ok");
        span.record("otel.status_code", "OK");
    } else {
        span.record("outcome", "error");
        span.record("otel.status_code", "ERROR");
        span.record("error.codes", codes.join(","));
    }
}

/// The span of one DataLoader batch of `loader` (a type name), a child of
/// the current span (the request that asked for it); `keys` is recorded
/// where the batch is known up front (a prefetch).
pub fn loader_batch(loader: &'static str) -> tracing::Span {
    let span = tracing::info_span!("dataloader batch", otel.name = Empty, loader, keys = Empty);
    // Only an exported span needs the readable name.
    if exporting() {
        span.record("otel.name", format!("load {}", short_type(loader)));
    }
    span
}

/// `a::b::ById<entity::asset::Entity>` as `ById<asset::Entity>`: paths
/// cut to their last segment, or two where the last is a bare `Entity`.
fn short_type(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut path = String::new();
    let flush = |path: &mut String, out: &mut String| {
        let segments: Vec<&str> = path.rsplit("::").take(2).collect();
        match segments.as_slice() {
            [last @ ("Entity" | "Model"), module] => out.push_str(&format!("{module}::{last}")),
            [last, ..] => out.push_str(last),
            [] => {}
        }
        path.clear();
    };
    for c in name.chars() {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else {
            flush(&mut path, &mut out);
            out.push(c);
        }
    }
    flush(&mut path, &mut out);
    out
}

/// A span for one SQL statement that just ran, as a child of the current
/// span: made after the fact, with its real start and end, because the
/// database layer reports a statement only once it is done. Statements
/// outside a traced request (start-up, background polling) make none.
pub fn statement(info: &sea_orm::metric::Info<'_>) {
    if !exporting() {
        return;
    }
    let parent = tracing::Span::current().context();
    if !parent.has_active_span() {
        return;
    }
    let end = SystemTime::now();
    let start = end.checked_sub(info.elapsed).unwrap_or(end);
    let sql = info.statement.sql.as_str();
    let operation = sql.split_whitespace().next().unwrap_or("SQL").to_ascii_uppercase();
    let system = match info.statement.db_backend {
        sea_orm::DbBackend::Postgres => "postgresql",
        sea_orm::DbBackend::Sqlite => "sqlite",
        _ => "other_sql",
    };
    let text: String = sql.chars().take(MAX_STATEMENT).collect();
    let tracer = opentelemetry::global::tracer(TRACER);
    let mut span = tracer
        .span_builder(operation.clone())
        .with_kind(SpanKind::Client)
        .with_start_time(start)
        .with_attributes([
            KeyValue::new("db.system.name", system),
            KeyValue::new("db.operation.name", operation),
            KeyValue::new("db.query.text", text),
        ])
        .start_with_context(&tracer, &parent);
    if info.failed {
        span.set_status(Status::error("the statement failed"));
    }
    span.end_with_timestamp(end);
}

/// Adds the current span's `traceparent` (and `tracestate`) to an
/// outgoing request's headers, so the callee joins the trace.
pub fn inject(headers: &mut HeaderMap) {
    if !exporting() {
        return;
    }
    let cx = tracing::Span::current().context();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&cx, &mut opentelemetry_http::HeaderInjector(headers));
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn loader_names_are_short() {
        let name = "accounts_gateway::graphql::loaders::GroupedWith<entity::wallet::Entity, entity::network::Entity>";
        assert_eq!(super::short_type(name), "GroupedWith<wallet::Entity, network::Entity>");
        assert_eq!(super::short_type("accounts_gateway::graphql::loaders::QuoteLoader"), "QuoteLoader");
    }
}
