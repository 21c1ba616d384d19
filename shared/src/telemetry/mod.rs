//! Tracing set-up: log lines (text or JSON) filtered by `RUST_LOG`, and OpenTelemetry traces
//! over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
//!
//! # Layout
//! - this file: [`init`], the subscriber with its two layers, and the [`Telemetry`] guard that
//!   flushes the traces at exit.
//! - [`config`]: the trace settings (`OTEL_*`) and the check of `RUST_LOG`.
//! - [`otel`]: the tracer provider and its OTLP/HTTP exporter.
//! - [`propagate`]: the W3C `traceparent` a job carries and the forward request sends on.

pub mod config;
mod otel;
pub mod propagate;

use std::io::IsTerminal;

use tracing_subscriber::{
    EnvFilter, Layer, Registry, fmt, layer::SubscriberExt as _, util::SubscriberInitExt as _,
};

use crate::config::{LogFormat, TelemetryConfig};

pub use config::{Sampler, TraceConfig, parse_log_filter};

/// Keeps the trace exporter alive; [`Telemetry::shutdown`] flushes what is still batched.
#[must_use = "dropping the guard without shutdown() loses the last batch of spans"]
pub struct Telemetry {
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("RUST_LOG: {0}")]
    Filter(String),
    #[error("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build the OTLP exporter: {0}")]
    Exporter(String),
}

/// Installs the global subscriber; call once at start-up. `service` names the process in traces
/// unless `OTEL_SERVICE_NAME` does.
///
/// A second call in one process (tests starting several apps) keeps the first subscriber.
pub fn init(cfg: &TelemetryConfig, service: &'static str) -> Result<Telemetry, TelemetryError> {
    // Checked by clap already; parsed again here because a filter is not `Clone`.
    let filter = EnvFilter::builder()
        .parse(&cfg.log_filter)
        .map_err(|e| TelemetryError::Filter(e.to_string()))?;
    // Escape codes only for a person at a terminal: a collector would store them as text.
    let ansi = std::io::stderr().is_terminal();
    let lines = fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let lines = match cfg.log_format {
        LogFormat::Json => lines.json().flatten_event(true).boxed(),
        LogFormat::Text => lines.boxed(),
    };
    let mut layers: Vec<Box<dyn Layer<Registry> + Send + Sync>> =
        vec![lines.with_filter(filter).boxed()];
    let provider = match &cfg.traces.endpoint {
        Some(_) => {
            let (layer, provider) = otel::layer(&cfg.traces, service)?;
            layers.push(layer);
            Some(provider)
        }
        None => None,
    };
    // try_init also routes the `log` crate's records (reqwest, hyper) into the subscriber.
    let installed = Registry::default().with(layers).try_init();
    if installed.is_ok() && provider.is_some() {
        propagate::enable();
    }
    Ok(Telemetry { provider })
}

impl Telemetry {
    /// Exports the spans still batched and stops the exporter. Blocking work (the exporter's
    /// last request) runs off the async threads.
    pub async fn shutdown(self) {
        let Some(provider) = self.provider else {
            return;
        };
        let done = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = done {
            eprintln!("warning: flushing the traces at exit failed: {e}");
        }
    }
}
