//! The OpenTelemetry tracer provider: sluice's spans, batched and sent over OTLP/HTTP
//! (protobuf) to `OTEL_EXPORTER_OTLP_ENDPOINT`.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing::{Level, Metadata};
use tracing_subscriber::{Layer, Registry, filter::filter_fn};

use super::{TelemetryError, TraceConfig};

/// The layer that turns sluice's spans into OpenTelemetry spans, and its provider (kept to
/// flush at exit).
///
/// Only sluice's own spans and events are exported, whatever `RUST_LOG` says: logs can be quiet
/// while traces stay complete, and the libraries' internal spans (hyper, sqlx, apalis) do not
/// become traces of their own. The step spans (verify, admission, enqueue, insert, handler...)
/// are debug spans: with traces off and `RUST_LOG=info` nothing makes them at all.
pub(super) fn layer(
    cfg: &TraceConfig,
    service: &'static str,
) -> Result<(Box<dyn Layer<Registry> + Send + Sync>, SdkTracerProvider), TelemetryError> {
    // The exporter reads the endpoint (and OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT) from the
    // environment itself, appending /v1/traces as the specification says.
    let exporter = SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let mut resource = Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service);
    }
    // The batch processor runs on a thread of its own: exporting never blocks a request.
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(cfg.sampler.sdk(cfg.sampler_arg))
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer(service);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter_fn(ours))
        .boxed();
    Ok((layer, provider))
}

/// Spans of sluice at debug and above; events (span events in the trace) at info and above.
fn ours(meta: &Metadata<'_>) -> bool {
    let floor = if meta.is_span() {
        Level::DEBUG
    } else {
        Level::INFO
    };
    meta.target().starts_with("sluice") && *meta.level() <= floor
}
