//! The bots and signed-webhook sources as stored in Postgres, and the only functions that change
//! them: `sluice-api bots|sources` and the console's bots page and API both call these.
//!
//! # Layout
//! - [`bots`]: add, update (secret, token, limits, forwarding), list (never a secret), remove.
//! - [`sources`]: what a source is ([`sources::Source`]), its SQL ([`sources::store`]), and
//!   validated changes ([`sources::manage`]).
//!
//! The api keeps what serves requests: the in-memory caches, the secret check and the signature
//! verification.

pub mod bots;
pub mod sources;

/// Bot and source names: they appear in URLs and logs.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
