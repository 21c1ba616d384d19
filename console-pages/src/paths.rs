//! Every URL the pages link or post to, so the console's router and the pages share one list.
//!
//! Mutations are `POST` forms carrying [`CSRF_FIELD`]; everything else is a `GET` that changes
//! nothing (the dead-letter confirmation step is a `GET`: it only counts).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// `GET`: the sign-in form; `POST`: the token (field [`TOKEN_FIELD`]).
pub const LOGIN: &str = "/login";
/// `POST` with the CSRF field: ends the session.
pub const LOGOUT: &str = "/logout";
/// `GET`: the lanes page.
pub const LANES: &str = "/lanes";
/// `GET`: the lanes page's live part alone (table and charts), polled by htmx.
pub const LANES_LIVE: &str = "/lanes/live";
/// `GET` with [`crate::query::DeadLetterFilter`] and `cursor` as query parameters.
pub const DEAD_LETTERS: &str = "/dead-letters";
/// `GET`: the dry-run count of a replay or purge ([`crate::query::ConfirmQuery`]).
pub const DEAD_LETTERS_CONFIRM: &str = "/dead-letters/confirm";
/// `POST`: replay by id or by filter ([`crate::query::ConfirmQuery`] + CSRF field).
pub const DEAD_LETTERS_REPLAY: &str = "/dead-letters/replay";
/// `POST`: purge by id or by filter ([`crate::query::ConfirmQuery`] + CSRF field).
pub const DEAD_LETTERS_PURGE: &str = "/dead-letters/purge";
/// `GET`: bots and sources; `?remove_bot=NAME` / `?remove_source=NAME` show a confirmation.
pub const BOTS: &str = "/bots";
/// `POST` forms of the bots page ([`crate::bots`] names their fields).
pub const BOTS_ADD: &str = "/bots/add";
pub const BOTS_ROTATE: &str = "/bots/rotate";
pub const BOTS_LIMITS: &str = "/bots/limits";
pub const BOTS_REMOVE: &str = "/bots/remove";
pub const SOURCES_ADD: &str = "/sources/add";
pub const SOURCES_ROTATE: &str = "/sources/rotate";
pub const SOURCES_REMOVE: &str = "/sources/remove";
/// `GET`: live consumers.
pub const WORKERS: &str = "/workers";
/// Prefix of the embedded assets ([`crate::assets::lookup`] takes the whole path).
pub const ASSETS_PREFIX: &str = "/assets/";

/// The hidden field every mutating form carries.
pub const CSRF_FIELD: &str = "csrf_token";
/// The sign-in form's token field.
pub const TOKEN_FIELD: &str = "token";

/// Characters left as they are in a path segment: the unreserved set of RFC 3986.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `GET`: one dead letter's page. The id is percent-encoded: it comes from Redis, not from us.
pub fn dead_letter(id: &str) -> String {
    format!("{DEAD_LETTERS}/{}", utf8_percent_encode(id, SEGMENT))
}

/// `path?query`, or `path` alone for an empty query. Strings always encode.
pub fn with_query(path: &str, query: &impl serde::Serialize) -> String {
    match serde_urlencoded::to_string(query) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_dead_letter_id_cannot_leave_its_segment() {
        assert_eq!(
            super::dead_letter("01J/../x?y#z\"<"),
            "/dead-letters/01J%2F..%2Fx%3Fy%23z%22%3C"
        );
        assert_eq!(
            super::dead_letter("01JABC-d_e.f~"),
            "/dead-letters/01JABC-d_e.f~"
        );
    }
}
