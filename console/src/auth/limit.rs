//! Failed sign-ins per client address per minute, counted in Redis so that every api replica
//! shares the count (a fixed one-minute window: simple, and enough to make guessing slow while a
//! typo locks no one out for long). A client past the allowance is refused even with the right
//! token until the window ends, or the right answer would stand out among the refusals.

use std::{net::IpAddr, time::Duration};

use redis::{Script, aio::ConnectionManager};

use super::session::StoreError;

const WINDOW: Duration = Duration::from_secs(60);
const BUDGET: Duration = Duration::from_secs(2);

/// INCR, and start the window's expiry on the first attempt only.
const COUNT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n";

#[derive(Clone)]
pub struct LoginLimiter {
    conn: ConnectionManager,
    prefix: String,
    per_minute: u32,
    script: std::sync::Arc<Script>,
}

impl LoginLimiter {
    pub fn new(conn: ConnectionManager, prefix: &str, per_minute: u32) -> LoginLimiter {
        LoginLimiter {
            conn,
            prefix: prefix.to_owned(),
            per_minute,
            script: std::sync::Arc::new(Script::new(COUNT)),
        }
    }

    fn key(&self, client: Option<IpAddr>) -> String {
        let who = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        format!("{}:console:login:{who}", self.prefix)
    }

    /// Whether `client` has used up this minute's failed attempts.
    pub async fn blocked(&self, client: Option<IpAddr>) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.key(client));
        let failed = cmd.query_async::<Option<u64>>(&mut conn);
        match tokio::time::timeout(BUDGET, failed).await {
            Err(_) => Err(StoreError::Timeout(BUDGET)),
            Ok(n) => Ok(n?.unwrap_or(0) >= u64::from(self.per_minute)),
        }
    }

    /// Counts one failed attempt from `client`.
    pub async fn failed(&self, client: Option<IpAddr>) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let window_ms = WINDOW.as_millis() as u64;
        let mut call = self.script.key(self.key(client));
        call.arg(window_ms);
        let counted = call.invoke_async::<u64>(&mut conn);
        match tokio::time::timeout(BUDGET, counted).await {
            Err(_) => Err(StoreError::Timeout(BUDGET)),
            Ok(n) => n.map(drop).map_err(StoreError::from),
        }
    }
}
