//! The CSRF check: a change made with the session cookie must carry the session's token, in the
//! form's hidden field (pages) or the `X-CSRF-Token` header (htmx, API calls made with the
//! cookie). `SameSite=Strict` already keeps the cookie off cross-site requests; this is the
//! second lock, for browsers or proxies that do not honour it.

use axum::{
    body::Body,
    extract::Request,
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use sluice_console_pages::paths::CSRF_FIELD;
use subtle::ConstantTimeEq;

use super::Session;
use crate::error::ConsoleError;

/// The header htmx and API clients send the token in.
pub const HEADER: &str = "x-csrf-token";

/// The largest form the pages post (a filter, a bot's limits): far below this.
const FORM_LIMIT: usize = 64 * 1024;

fn same(given: &str, session: &Session) -> bool {
    bool::from(given.as_bytes().ct_eq(session.csrf.as_bytes()))
}

pub fn header_matches(headers: &HeaderMap, session: &Session) -> bool {
    headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| same(given, session))
}

/// Reads the form body, checks its CSRF field (or the header), and gives the request back with
/// the same body for the handler; a 403 answer otherwise.
pub async fn form_matches(req: Request, session: &Session) -> Result<Request, Response> {
    if header_matches(req.headers(), session) {
        return Ok(req);
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT)
        .await
        .map_err(|_| ConsoleError::BadRequest("form too large".into()).into_response())?;
    let found =
        form_urlencoded_field(&bytes, CSRF_FIELD).is_some_and(|given| same(&given, session));
    if !found {
        return Err(ConsoleError::Csrf.into_response());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// The first value of `name` in an `application/x-www-form-urlencoded` body.
fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_field_is_found_decoded_and_a_bad_body_has_none() {
        let f = super::form_urlencoded_field;
        assert_eq!(
            f(b"a=1&csrf_token=x%2By&b=2", "csrf_token").as_deref(),
            Some("x+y")
        );
        assert_eq!(f(b"a=1", "csrf_token"), None);
        assert_eq!(f(b"\xff\xfe=%%", "csrf_token"), None);
    }
}
