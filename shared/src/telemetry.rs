//! Tracing set-up: human-readable text or JSON lines, filtered by `RUST_LOG`.

use tracing_subscriber::{EnvFilter, fmt};

use crate::config::{LogFormat, TelemetryConfig};

/// Installs the global subscriber; call once at start-up.
pub fn init(cfg: &TelemetryConfig) {
    let filter = EnvFilter::try_new(&cfg.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests starting several apps in one process) is harmless: keep the first.
    let _ = match cfg.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
