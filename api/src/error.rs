//! `ApiError`: every way a webhook delivery can be refused, and the one place statuses are chosen.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use sluice_shared::lanes::Lane;

use crate::admission::policy::Limit;

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
    /// Over a rate limit whose policy is `reject`: Telegram re-sends after `retry_after` seconds
    /// and holds back only this chat's later updates.
    #[error("the {limit} rate limit is exceeded; retry in {retry_after} s")]
    RateLimited { limit: Limit, retry_after: u32 },
    /// The update's lane is backed up past its shedding threshold.
    #[error("the {lane} lane is backed up; retry in {retry_after} s")]
    Shed { lane: Lane, retry_after: u32 },
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
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Shed { .. } => "shed",
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
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Retry(_) | ApiError::Shed { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
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
        // Telegram waits exactly Retry-After seconds before re-sending.
        let retry_after = match self {
            // Short enough not to hold the chat's queue, long enough for a Redis fail-over.
            ApiError::Retry(_) => Some(HeaderValue::from_static("1")),
            ApiError::RateLimited { retry_after, .. } | ApiError::Shed { retry_after, .. } => {
                Some(HeaderValue::from(retry_after))
            }
            _ => None,
        };
        if let Some(v) = retry_after {
            resp.headers_mut().insert(RETRY_AFTER, v);
        }
        resp
    }
}
