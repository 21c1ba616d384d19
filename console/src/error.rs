//! [`ConsoleError`]: the one place the console's error statuses are chosen. API answers are
//! JSON `{"error": code, "message": text}`; the message never carries an internal cause (those
//! are logged here, once).

use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("a console token (Authorization: Bearer) or a signed-in session is required")]
    Unauthorized,
    #[error("the CSRF token is missing or wrong; reload the page and try again")]
    Csrf,
    #[error("too many failed sign-ins from this address; wait a minute")]
    TooManyAttempts,
    #[error("{0}")]
    BadRequest(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// Redis or Postgres did not answer: the operator may retry.
    #[error("a backing store is unavailable; try again")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ConsoleError {
    /// Wraps a store failure (its text is logged, never answered).
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> ConsoleError {
        ConsoleError::Unavailable(Box::new(e))
    }

    /// Also the status of a page that answers a refused form with its reason.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ConsoleError::Unauthorized => StatusCode::UNAUTHORIZED,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Conflict(_) => StatusCode::CONFLICT,
            ConsoleError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ConsoleError::Unauthorized => "unauthorized",
            ConsoleError::Csrf => "csrf",
            ConsoleError::TooManyAttempts => "too_many_attempts",
            ConsoleError::BadRequest(_) => "bad_request",
            ConsoleError::NotFound => "not_found",
            ConsoleError::Conflict(_) => "conflict",
            ConsoleError::Unavailable(_) => "unavailable",
        }
    }
}

/// The JSON body of every API error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: `unauthorized`, `csrf`, `too_many_attempts`, `bad_request`, `not_found`,
    /// `conflict` or `unavailable`.
    pub error: &'static str,
    /// For a person; never an internal cause.
    pub message: String,
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::Unavailable(cause) = &self {
            tracing::error!(error = %cause, "console: a backing store failed");
        }
        let status = self.status();
        let body = Json(ErrorBody {
            error: self.code(),
            message: self.to_string(),
        });
        let mut resp = (status, body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"sluice console\""),
            );
        }
        resp
    }
}
