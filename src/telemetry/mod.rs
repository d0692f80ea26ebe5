//! Logs and traces. `RUST_LOG` picks log levels and `LOG_FORMAT` the line
//! format; traces go out over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, and are off otherwise.

mod otlp;
pub mod spans;

use crate::config::LogFormat;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Whether spans are exported: the statement spans and the `traceparent`
/// handling cost nothing while they are not.
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether traces are being exported.
pub(crate) fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// The installed logs and traces; [`Telemetry::shutdown`] sends the spans
/// still buffered before the process ends.
#[must_use = "shut it down at exit, or the last spans are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports the spans still buffered and stops the exporter (on a
    /// blocking thread: the exporter's own thread needs the runtime).
    pub async fn shutdown(self) {
        let Some(provider) = self.traces else { return };
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the last spans could not be exported"),
            Err(e) => tracing::warn!(error = %e, "the trace exporter did not shut down"),
        }
    }
}

/// Installs the global subscriber: logs on standard error, and spans over
/// OTLP when the environment asks for them. Safe to call more than once
/// (tests do): later calls keep the first subscriber. Must run inside the
/// Tokio runtime, whose HTTP client the exporter uses.
pub fn init(format: LogFormat) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match format {
        LogFormat::Json => logs.json().flatten_event(true).with_filter(filter).boxed(),
        LogFormat::Text => logs.with_filter(filter).boxed(),
    };
    let provider = otlp::provider_from_env()?;
    let traces = provider.as_ref().map(|p| {
        use opentelemetry::trace::TracerProvider;
        // Only the gateway's own spans: requests, loader batches, statements.
        let ours = Targets::new().with_target(env!("CARGO_CRATE_NAME"), LevelFilter::INFO);
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(spans::TRACER))
            .with_location(false)
            .with_threads(false)
            .with_target(false)
            .with_filter(ours)
    });
    let installed = Registry::default().with(logs).with(traces).try_init().is_ok();
    if let (true, Some(p)) = (installed, &provider) {
        opentelemetry::global::set_text_map_propagator(opentelemetry_sdk::propagation::TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(p.clone());
        EXPORTING.store(true, Ordering::Relaxed);
    }
    Ok(Telemetry { traces: provider.filter(|_| installed) })
}
