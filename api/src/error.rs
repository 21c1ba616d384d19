//! `ApiError`: every way a webhook delivery can be refused, and the one place statuses are chosen.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde::Serialize;

use crate::{replay::ReplayError, signature::SignatureError, sources::extract::ExtractError};

/// `{"ok":false,"error":"<stable code>","detail":"<human text>"}`, fields in that order.
#[derive(Serialize)]
struct ErrorBody {
    ok: bool,
    error: &'static str,
    detail: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no bot named '{0}' is registered")]
    UnknownBot(String),
    #[error("the secret token header is missing or wrong")]
    Unauthorized,
    #[error("the body is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body did not arrive in time")]
    BodyTimeout,
    /// The update is not (or not surely) queued: the sender must retry.
    #[error("{0}")]
    Retry(&'static str),
    #[error("no route for this path")]
    NotFound,
    #[error("this path takes POST")]
    MethodNotAllowed,
    #[error("no source named '{0}' is registered")]
    UnknownSource(String),
    /// Missing, malformed or wrong signature, or (Stripe) a timestamp outside the tolerance.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("this signed delivery was accepted before; a replay is refused")]
    Replayed,
}

impl From<ExtractError> for ApiError {
    fn from(e: ExtractError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<ReplayError> for ApiError {
    fn from(e: ReplayError) -> Self {
        match e {
            ReplayError::Replayed => ApiError::Replayed,
            ReplayError::Redis(_) | ReplayError::Timeout(_) => {
                ApiError::Retry("the delivery could not be checked for replay; retry later")
            }
        }
    }
}

impl ApiError {
    /// The stable code clients and dashboards match on; never changes once shipped.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::UnknownBot(_) => "unknown_bot",
            ApiError::Unauthorized => "unauthorized",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::BadRequest(_) => "bad_request",
            ApiError::BodyTimeout => "body_timeout",
            ApiError::Retry(_) => "retry",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::UnknownSource(_) => "unknown_source",
            ApiError::Signature(SignatureError::Stale { .. }) => "stale_timestamp",
            ApiError::Signature(_) => "bad_signature",
            ApiError::Replayed => "replayed",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::UnknownBot(_) | ApiError::NotFound | ApiError::UnknownSource(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Unauthorized | ApiError::Signature(_) | ApiError::Replayed => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Retry(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            ok: false,
            error: self.code(),
            detail: self.to_string(),
        };
        let mut resp = (self.status(), Json(body)).into_response();
        if let ApiError::Retry(_) = self {
            // Telegram waits exactly Retry-After seconds before re-sending; 1 s is short enough not
            // to hold the chat's queue, long enough for a Redis fail-over.
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}
