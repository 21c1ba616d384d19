//! Browser sessions, kept in Redis so that every api replica knows them and a sign-out ends them
//! everywhere.
//!
//! The cookie holds a random id; Redis holds only the id's SHA-256 (a dump of Redis signs no one
//! in) and, as its value, the session's CSRF token. The key expires with the session.

use std::time::Duration;

use rand::RngCore;
use redis::aio::ConnectionManager;
use sha2::{Digest, Sha256};

/// How long one session command may take: a stalled Redis must not hold a page forever.
const BUDGET: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

// Here rather than in `error.rs`, so that the error module does not depend on `auth`.
impl From<StoreError> for crate::error::ConsoleError {
    fn from(e: StoreError) -> Self {
        crate::error::ConsoleError::unavailable(e)
    }
}

/// A signed-in browser: what the handlers get. The id never leaves [`Sessions`] and the cookie.
#[derive(Clone)]
pub struct Session {
    id: String,
    /// Sent back by every mutating form (and by API mutations made with the cookie).
    pub csrf: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Session(<redacted>)")
    }
}

impl Session {
    /// The cookie's value.
    pub fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Clone)]
pub struct Sessions {
    conn: ConnectionManager,
    prefix: String,
    ttl: Duration,
}

impl Sessions {
    pub fn new(conn: ConnectionManager, prefix: &str, ttl: Duration) -> Sessions {
        Sessions {
            conn,
            prefix: prefix.to_owned(),
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    fn key(&self, id: &str) -> String {
        format!(
            "{}:console:session:{}",
            self.prefix,
            hex::encode(Sha256::digest(id.as_bytes()))
        )
    }

    /// A new session with fresh random id and CSRF token, expiring after the TTL.
    pub async fn create(&self) -> Result<Session, StoreError> {
        let session = Session {
            id: random_hex(),
            csrf: random_hex(),
        };
        let mut cmd = redis::cmd("SET");
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        cmd.arg(self.key(&session.id))
            .arg(&session.csrf)
            .arg("PX")
            .arg(ttl_ms);
        self.query::<()>(cmd).await?;
        Ok(session)
    }

    /// The live session behind a cookie value, if any.
    pub async fn find(&self, id: &str) -> Result<Option<Session>, StoreError> {
        // Our ids are 64 hex digits: anything else is not worth a round trip.
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(id));
        let csrf: Option<String> = self.query(cmd).await?;
        Ok(csrf.map(|csrf| Session {
            id: id.to_owned(),
            csrf,
        }))
    }

    /// Ends a session (sign-out).
    pub async fn end(&self, session: &Session) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.key(&session.id));
        self.query::<i64>(cmd).await.map(drop)
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> Result<T, StoreError> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(BUDGET, cmd.query_async::<T>(&mut conn)).await {
            Err(_) => Err(StoreError::Timeout(BUDGET)),
            Ok(answer) => Ok(answer?),
        }
    }
}

/// 32 random bytes from the OS-seeded generator, as 64 hex digits.
fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
