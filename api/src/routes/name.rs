//! The `{bot}` / `{source}` path segment, with a refusal in our error format: axum's own `Path`
//! rejection (a percent-escape that is not UTF-8, e.g. `/webhook/telegram/%aa`) is a plain-text
//! 400 that breaks the `{"ok":false,"error":...}` contract (found by the fuzz test).

use axum::{
    extract::{FromRequestParts, Path},
    http::request::Parts,
};

use crate::error::ApiError;

/// The one path parameter of a webhook route, percent-decoded.
pub struct Name(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Name {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(name)| Name(name))
            .map_err(|e| ApiError::BadRequest(format!("the path is not valid: {}", e.body_text())))
    }
}
