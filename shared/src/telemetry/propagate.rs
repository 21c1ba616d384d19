//! The W3C trace context across the queue and onto the forward request: the api writes the
//! current span's `traceparent` into the job, the worker's job span continues it, and the
//! forward handler sends its own on. With traces off every function here returns at once.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicBool, Ordering},
};

use opentelemetry::{propagation::TextMapPropagator as _, trace::TraceContextExt as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header (and job field) name.
pub const TRACEPARENT: &str = "traceparent";

/// `00-<32 hex>-<16 hex>-<2 hex>`: anything longer is not a version-00 traceparent.
const MAX_LEN: usize = 55;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Set once the OpenTelemetry layer is installed.
pub(super) fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Whether traces are exported by this process.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The `traceparent` of `span`, if traces are on and it is sampled into one.
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    if !enabled() {
        return None;
    }
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::with_capacity(2);
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// Makes `span` continue the trace of `traceparent` (from a job or a request). A malformed or
/// oversized value is ignored: the span then starts a trace of its own.
pub fn continue_trace(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(tp) = traceparent.filter(|tp| enabled() && tp.len() <= MAX_LEN) else {
        return;
    };
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), tp.to_owned())]);
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}
