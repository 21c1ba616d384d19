//! Trust as a type for signed webhooks: a delivery's signature header is [`Unverified`] until
//! [`Unverified::verify`] has checked it, over the exact body bytes received, against the
//! source's secrets; that is the only way to a [`Verified`] body.
//!
//! # Layout
//! - [`header`]: the signature header parsers (pure, fuzzed).
//! - [`hmac`]: HMAC-SHA256 and the constant-time comparison.

pub mod header;
pub mod hmac;

use std::time::Duration;

use axum::{body::Bytes, http::HeaderMap};
use sha2::{Digest, Sha256};

use header::{Mac, Malformed, StripeHeader};

/// How a provider signs its deliveries (shared with the sources' store).
pub use sluice_shared::registry::sources::Scheme;

/// The signing secret type is shared with the worker, which signs what it forwards.
pub use sluice_shared::secret::Secret;

/// Why a delivery's signature was not accepted; every variant is a 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the {header} header is malformed: {why}")]
    Malformed {
        header: &'static str,
        why: Malformed,
    },
    #[error("no signature in the {0} header matches the body under the source's secrets")]
    Mismatch(&'static str),
    #[error(
        "the signature's timestamp is {skew_s} s away from now, beyond the source's tolerance of {tolerance_s} s"
    )]
    Stale { skew_s: u64, tolerance_s: u64 },
}

/// A parsed signature header: nothing in it is trusted yet.
#[derive(Debug)]
pub struct Unverified {
    header: &'static str,
    claim: Claim,
}

#[derive(Debug)]
enum Claim {
    /// github, plain: the MAC of the body.
    Body(Mac),
    Stripe(StripeHeader),
}

/// A body whose signature matched one of its source's secrets (and, for Stripe, is fresh).
#[derive(Debug)]
pub struct Verified {
    body: Bytes,
    replay: Option<ReplayStamp>,
}

/// What identifies a timestamped signed delivery, so that a replay within the tolerance window
/// can be recognised: the SHA-256 of the signed payload `"<t>.<body>"`, and how long until the
/// timestamp falls out of the window by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayStamp {
    pub digest: [u8; 32],
    pub window: Duration,
}

impl Unverified {
    /// Reads the scheme's signature header; checked before the body is read, so an unsigned
    /// request costs no body read.
    pub fn from_headers(scheme: Scheme, headers: &HeaderMap) -> Result<Self, SignatureError> {
        let header = scheme.header();
        let raw = headers
            .get(header)
            .ok_or(SignatureError::Missing(header))?
            .as_bytes();
        let claim = match scheme {
            Scheme::Github => header::parse_github(raw).map(Claim::Body),
            Scheme::Plain => header::parse_plain(raw).map(Claim::Body),
            Scheme::Stripe => header::parse_stripe(raw).map(Claim::Stripe),
        }
        .map_err(|why| SignatureError::Malformed { header, why })?;
        Ok(Unverified { header, claim })
    }

    /// Checks the claim over the exact `body` bytes under each of `secrets` (current and, while
    /// rotating, next); for Stripe also that the timestamp is within `tolerance` of `now_s`.
    pub fn verify<'a>(
        self,
        secrets: impl IntoIterator<Item = &'a Secret>,
        body: Bytes,
        now_s: i64,
        tolerance: Duration,
    ) -> Result<Verified, SignatureError> {
        let keys: Vec<&[u8]> = secrets.into_iter().map(|s| s.expose().as_bytes()).collect();
        match self.claim {
            Claim::Body(given) => {
                let expected: Vec<Mac> = keys.iter().map(|k| hmac::sign(k, &[&body])).collect();
                if !hmac::any_matches(&expected, &[given]) {
                    return Err(SignatureError::Mismatch(self.header));
                }
                Ok(Verified { body, replay: None })
            }
            Claim::Stripe(h) => {
                let signed: [&[u8]; 3] = [h.t_text.as_bytes(), b".", &body];
                let expected: Vec<Mac> = keys.iter().map(|k| hmac::sign(k, &signed)).collect();
                if !hmac::any_matches(&expected, &h.v1) {
                    return Err(SignatureError::Mismatch(self.header));
                }
                let replay = fresh(&h, &signed, now_s, tolerance)?;
                Ok(Verified {
                    body,
                    replay: Some(replay),
                })
            }
        }
    }
}

/// Refuses a timestamp more than `tolerance` away from now (either way: a clock far ahead is as
/// suspect as an old request), and stamps a fresh one for the replay check.
fn fresh(
    h: &StripeHeader,
    signed: &[&[u8]],
    now_s: i64,
    tolerance: Duration,
) -> Result<ReplayStamp, SignatureError> {
    let skew_s = now_s.abs_diff(h.t);
    let tolerance_s = tolerance.as_secs();
    if skew_s > tolerance_s {
        return Err(SignatureError::Stale {
            skew_s,
            tolerance_s,
        });
    }
    let mut digest = Sha256::new();
    for part in signed {
        digest.update(part);
    }
    // Until t + tolerance the same request would pass the timestamp check again.
    let left =
        h.t.saturating_add_unsigned(tolerance_s)
            .saturating_sub(now_s);
    Ok(ReplayStamp {
        digest: digest.finalize().into(),
        window: Duration::from_secs(left.max(1) as u64),
    })
}

impl Verified {
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// For timestamped schemes, what a replay of this delivery would repeat.
    pub fn replay_stamp(&self) -> Option<&ReplayStamp> {
        self.replay.as_ref()
    }

    pub fn into_body(self) -> Bytes {
        self.body
    }
}

#[cfg(test)]
mod tests;
