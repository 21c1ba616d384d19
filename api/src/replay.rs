//! Replay protection for timestamped signatures (Stripe): each signed delivery is accepted once
//! within its tolerance window, and outside the window the timestamp check refuses it.
//!
//! A delivery is remembered in Redis by the SHA-256 of its signed payload `"<t>.<body>"` with
//! `SET NX PX <rest of the window>`, so the claim is atomic across api replicas and forgets
//! itself. It is claimed before the enqueue and released if the enqueue fails, so a sender
//! retrying the very same request after our 503 is not mistaken for a replay. A provider's own
//! retry is signed anew (new `t`), so it is never a replay: it is a duplicate of the event's
//! idempotency key and answered `"duplicate":true`.

use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::signature::ReplayStamp;

#[derive(Clone)]
pub struct ReplayGuard {
    conn: ConnectionManager,
    prefix: String,
    /// The enqueue's time budget: a paused Redis must not hold a request longer here either.
    budget: Duration,
}

/// A claimed delivery; give it back with [`ReplayGuard::release`] if it was not queued after all.
#[derive(Debug)]
pub struct Claim {
    key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("this signed delivery was accepted before")]
    Replayed,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("the replay check did not finish within {0:?}")]
    Timeout(Duration),
}

impl ReplayGuard {
    pub fn new(conn: ConnectionManager, prefix: &str, budget: Duration) -> Self {
        ReplayGuard {
            conn,
            prefix: prefix.to_owned(),
            budget,
        }
    }

    /// Claims `stamp` for `source`; [`ReplayError::Replayed`] if it was claimed before.
    pub async fn claim(&self, source: &str, stamp: &ReplayStamp) -> Result<Claim, ReplayError> {
        let key = format!(
            "{}:replay:{source}:{}",
            self.prefix,
            hex::encode(stamp.digest)
        );
        let ttl_ms = u64::try_from(stamp.window.as_millis()).unwrap_or(u64::MAX);
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("SET");
        cmd.arg(&key).arg(1).arg("NX").arg("PX").arg(ttl_ms);
        let set = cmd.query_async::<Option<String>>(&mut conn);
        match tokio::time::timeout(self.budget, set).await {
            Err(_) => Err(ReplayError::Timeout(self.budget)),
            Ok(Err(e)) => Err(e.into()),
            Ok(Ok(None)) => Err(ReplayError::Replayed),
            Ok(Ok(Some(_))) => Ok(Claim { key }),
        }
    }

    /// Forgets a claim whose delivery was not queued (best effort: if Redis is gone, the claim
    /// expires with the window, and the sender's fresh signature is not affected).
    pub async fn release(&self, claim: Claim) {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&claim.key);
        let del = cmd.query_async::<i64>(&mut conn);
        if !matches!(tokio::time::timeout(self.budget, del).await, Ok(Ok(_))) {
            tracing::debug!("could not release a replay claim; it expires with its window");
        }
    }
}
