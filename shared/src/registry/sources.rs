//! Signed-webhook sources: who may post to `/webhook/hooks/{source}`, how they sign, and where a
//! delivery keeps its idempotency key, kind and rate-limit key.
//!
//! # Layout
//! - [`store`]: the `sources` table's SQL, one function per statement.
//! - [`manage`]: validated changes: add, update (rotation), remove, the secret-free listing.
//!
//! `sluice-api sources` and the console drive [`manage`]; the api's source registry caches
//! [`store::all`] and verifies signatures with the [`Scheme`] named here.

pub mod manage;
pub mod store;

use std::{fmt, str::FromStr, time::Duration};

use axum::http::HeaderName;

pub use super::valid_name;
use crate::{lanes::Lane, secret::Secret};

/// How a provider signs its deliveries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Scheme {
    /// `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 of the body.
    Github,
    /// `Stripe-Signature: t=<unix>,v1=<hex>...`, HMAC-SHA256 of `"<t>.<body>"`, timestamped.
    Stripe,
    /// `X-Signature: <hex>`, HMAC-SHA256 of the body.
    Plain,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Github => "github",
            Scheme::Stripe => "stripe",
            Scheme::Plain => "plain",
        }
    }

    /// The header carrying the signature (lower case, as `HeaderMap` stores names).
    pub fn header(self) -> &'static str {
        match self {
            Scheme::Github => "x-hub-signature-256",
            Scheme::Stripe => "stripe-signature",
            Scheme::Plain => "x-signature",
        }
    }
}

impl FromStr for Scheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "github" => Ok(Scheme::Github),
            "stripe" => Ok(Scheme::Stripe),
            "plain" => Ok(Scheme::Plain),
            other => Err(format!(
                "unknown scheme '{other}' (expected github, stripe or plain)"
            )),
        }
    }
}

/// Stripe's own libraries default to five minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// One registered source, as the api uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The `{source}` of its webhook URL.
    pub name: String,
    pub scheme: Scheme,
    pub secret: Secret,
    /// A second accepted secret while rotating; `sources update --promote-next` makes it current.
    pub next_secret: Option<Secret>,
    /// Where the provider's event id is; without it (or when absent) the body's SHA-256 is used.
    pub idempotency: Option<Locator>,
    /// Where the event type is; without it the kind is `event`.
    pub kind: Option<Locator>,
    /// Where the admission-control bucket key is (e.g. the customer id).
    pub rate_key: Option<Pointer>,
    pub lane: Lane,
    /// Stripe only: how far a signature's timestamp may be from now.
    pub tolerance: Duration,
}

impl Source {
    /// A source with default options.
    pub fn new(name: &str, scheme: Scheme, secret: Secret) -> Source {
        Source {
            name: name.to_owned(),
            scheme,
            secret,
            next_secret: None,
            idempotency: None,
            kind: None,
            rate_key: None,
            lane: Lane::Normal,
            tolerance: DEFAULT_TOLERANCE,
        }
    }

    /// The secrets a signature may match: the current one, then the next one while rotating.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        std::iter::once(&self.secret).chain(self.next_secret.as_ref())
    }
}

/// Where in a delivery a value is: a request header or a JSON pointer into the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locator {
    Header(HeaderName),
    Pointer(Pointer),
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Header(h) => write!(f, "header {h}"),
            Locator::Pointer(p) => write!(f, "pointer {p}"),
        }
    }
}

/// An RFC 6901 JSON pointer (`/data/object/id`) naming a value inside the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer(String);

impl Pointer {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Pointer {
    type Err = String;
    /// Non-empty (the whole document is never a key), starting with `/`, and with `~` only in
    /// the escapes `~0` and `~1`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a JSON pointer like /data/object/id");
        if !s.starts_with('/') || s.len() > 512 {
            return Err(bad());
        }
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(bad());
            }
        }
        Ok(Pointer(s.to_owned()))
    }
}

/// A header name as given on the command line (any case; stored lower case).
pub fn header_name(s: &str) -> Result<HeaderName, String> {
    HeaderName::from_str(s).map_err(|_| format!("'{s}' is not an HTTP header name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_follow_rfc_6901() {
        for ok in ["/id", "/data/object/customer", "/a~1b/~0c", "/"] {
            assert!(ok.parse::<Pointer>().is_ok(), "{ok}");
        }
        for bad in ["", "id", "/a~2", "/a~", &format!("/{}", "x".repeat(600))] {
            assert!(bad.parse::<Pointer>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_next_secret_comes_second() {
        let mut s = Source::new("s", Scheme::Plain, "a".parse().unwrap());
        assert_eq!(s.secrets().count(), 1);
        s.next_secret = Some("b".parse().unwrap());
        let all: Vec<&str> = s.secrets().map(Secret::expose).collect();
        assert_eq!(all, ["a", "b"]);
    }
}
