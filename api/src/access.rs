//! Request ids and the access log: tower-http's request-id and trace layers, configured.
//!
//! Every request gets an `X-Request-Id` (the sender's when it is a plain token of at most
//! [`MAX_ID_LEN`] characters, else a fresh ULID) that is returned on the answer, and one span,
//! `request`, that the handlers fill in (bot or source, update_id, outcome) and that the access
//! line is logged in when the answer is ready. With traces on, that span is the root of the
//! update's trace (or continues the sender's `traceparent`).

use std::time::Duration;

use axum::{
    body::Body,
    extract::MatchedPath,
    http::{HeaderValue, Request, Response},
};
use sluice_shared::telemetry::propagate;
use tower_http::{
    classify::{ServerErrorsAsFailures, SharedClassifier},
    request_id::{MakeRequestId, RequestId},
    trace::{OnResponse, TraceLayer},
};
use tracing::{Level, Span};

/// A request id longer than this, or with other characters than `A-Z a-z 0-9 . _ : -`, is
/// replaced: it reaches every log line of the request, so it is outside input to bound.
pub const MAX_ID_LEN: usize = 64;

/// The access log's level (`SLUICE_ACCESS_LOG`); `off` writes no access line (the request span
/// is still made, for the trace).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessLog {
    Off,
    Error,
    Warn,
    Info,
    Debug,
}

/// Drops an `X-Request-Id` that is not a plain bounded token, so a fresh one is made for it.
pub fn keep_plain_request_id<B>(mut req: Request<B>) -> Request<B> {
    let plain = |v: &HeaderValue| {
        let b = v.as_bytes();
        (1..=MAX_ID_LEN).contains(&b.len())
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"._:-".contains(c))
    };
    if req.headers().get(X_REQUEST_ID).is_some_and(|v| !plain(v)) {
        req.headers_mut().remove(X_REQUEST_ID);
    }
    req
}

const X_REQUEST_ID: &str = "x-request-id";

/// Fresh request ids: ULIDs, sortable by time like the job ids.
#[derive(Clone, Copy, Default)]
pub struct MakeUlid;

impl MakeRequestId for MakeUlid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = ulid::Ulid::generate().to_string();
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The layer: the request span, and the access line at `level`.
pub type Trace =
    TraceLayer<SharedClassifier<ServerErrorsAsFailures>, MakeSpan, (), AccessLine, (), (), ()>;
type MakeSpan = fn(&Request<Body>) -> Span;

/// The request span and the access line, at `level`.
pub fn trace_layer(level: AccessLog) -> Trace {
    TraceLayer::new_for_http()
        .make_span_with(request_span as MakeSpan)
        .on_request(())
        .on_response(AccessLine(level))
        .on_body_chunk(())
        .on_eos(())
        .on_failure(())
}

/// `request`, with the fields the handlers fill in later declared empty.
fn request_span(req: &Request<Body>) -> Span {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let id = req
        .headers()
        .get(X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let span = tracing::info_span!(
        target: "sluice::access",
        "request",
        method = sluice_shared::metrics::method_label(req.method().as_str()),
        route,
        request_id = id,
        bot = tracing::field::Empty,
        source = tracing::field::Empty,
        update_id = tracing::field::Empty,
        outcome = tracing::field::Empty,
        status = tracing::field::Empty,
        otel.kind = "server",
    );
    let parent = req.headers().get(propagate::TRACEPARENT);
    propagate::continue_trace(&span, parent.and_then(|v| v.to_str().ok()));
    span
}

/// One line per request, in its span (which carries route, request id, bot, update_id and
/// outcome), with the status and duration.
#[derive(Clone, Copy)]
pub struct AccessLine(AccessLog);

impl<B> OnResponse<B> for AccessLine {
    fn on_response(self, res: &Response<B>, took: Duration, span: &Span) {
        let status = res.status().as_u16();
        span.record("status", status);
        // Microsecond resolution, printed as milliseconds (`2.592`).
        let ms = took.as_micros() as f64 / 1000.0;
        macro_rules! line {
            ($lvl:expr) => {
                tracing::event!(target: "sluice::access", $lvl, status, duration_ms = ms, "answered")
            };
        }
        match self.0 {
            AccessLog::Off => {}
            AccessLog::Error => line!(Level::ERROR),
            AccessLog::Warn => line!(Level::WARN),
            AccessLog::Info => line!(Level::INFO),
            AccessLog::Debug => line!(Level::DEBUG),
        }
    }
}

/// Fills in the request span's `bot`/`update_id`/`outcome` (or `source`) as a handler learns
/// them; the access line and the trace show them.
pub fn record(field: &'static str, value: &dyn tracing::Value) {
    Span::current().record(field, value);
}
