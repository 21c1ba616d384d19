//! Every answer the proxy gives itself, in Telegram's own shape
//! (`{"ok":false,"error_code":N,"description":"..."}`) so that a framework reads it as it would
//! read Telegram's: the one place statuses are chosen for what the proxy refuses or could not
//! send.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;
use sluice_botapi::BotApiError;
use sluice_shared::metrics as m;

/// A request answered without a call reaching Telegram.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No registered bot has this token: Telegram's own 401.
    #[error("unknown token")]
    UnknownToken,
    /// A path the proxy does not serve.
    #[error("not found")]
    NotFound,
    /// A verb other than GET and POST.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Over `SLUICE_BOTAPI_PROXY_MAX_BODY` (or a buffered body over its bound).
    #[error("request body too large")]
    TooLarge,
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    /// The token index could not be read (Postgres).
    #[error("the token index is unavailable")]
    Unavailable,
}

impl Refusal {
    /// The `reason` label of `sluice_botapi_proxy_refused_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::UnknownToken => "unknown_token",
            Refusal::NotFound => "not_found",
            Refusal::MethodNotAllowed => "method_not_allowed",
            Refusal::TooLarge => "too_large",
            Refusal::BadRequest(_) => "bad_request",
            Refusal::Unavailable => "unavailable",
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        metrics::counter!(m::BOTAPI_PROXY_REFUSED_TOTAL, m::LABEL_REASON => self.reason())
            .increment(1);
        let (code, description) = match &self {
            Refusal::UnknownToken => (401, "Unauthorized".to_owned()),
            Refusal::NotFound => (404, "Not Found".to_owned()),
            Refusal::MethodNotAllowed => (405, "Method Not Allowed".to_owned()),
            Refusal::TooLarge => (413, "Request Entity Too Large".to_owned()),
            Refusal::BadRequest(why) => (400, format!("Bad Request: {why}")),
            Refusal::Unavailable => (503, "Service Unavailable".to_owned()),
        };
        telegram_error(code, description, None)
    }
}

/// A call that was not sent, or got no usable answer, as the client reads it: waits and
/// freezes as Telegram's 429 with `retry_after` (every framework backs off on it), the rest as
/// 4xx/5xx. No text here holds a token (see [`BotApiError`]).
pub fn not_sent(e: &BotApiError) -> Response {
    let retry = |d: std::time::Duration| {
        let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        telegram_error(
            429,
            format!("Too Many Requests: retry after {}", secs.max(1)),
            Some(secs.max(1)),
        )
    };
    match e {
        BotApiError::WaitTooLong(d) | BotApiError::RetryAfter(d) => retry(*d),
        BotApiError::Invalid(why) => telegram_error(400, format!("Bad Request: {why}"), None),
        BotApiError::Rejected(f) => {
            telegram_error(f.error_code as u16, f.description.clone(), None)
        }
        BotApiError::NoToken(_) | BotApiError::Token { .. } => {
            telegram_error(401, "Unauthorized".into(), None)
        }
        BotApiError::Server(code) if *code >= 500 => {
            telegram_error(*code, "Bad Gateway".into(), None)
        }
        BotApiError::Timeout(_) => telegram_error(504, "Gateway Timeout".into(), None),
        BotApiError::Limiter(_) | BotApiError::Store(_) => {
            telegram_error(503, "Service Unavailable".into(), None)
        }
        BotApiError::Server(_) | BotApiError::Network(_) | BotApiError::BadAnswer(_) => {
            telegram_error(502, "Bad Gateway".into(), None)
        }
    }
}

fn telegram_error(code: u16, description: String, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(secs) = retry_after {
        body["parameters"] = json!({ "retry_after": secs });
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
