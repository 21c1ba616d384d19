//! `redis` scope: the GCRA decision made atomically in Redis by one Lua script, exact across any
//! number of api replicas; the local limiter decides whenever Redis cannot. Concurrent
//! decisions share a script call ([`batch`]).
//!
//! Keys: `<prefix>:rl:{<prefix>}:g`, `…:b:<bot>`, `…:c:<bot>:<chat>`. The braces are a Redis
//! Cluster hash tag: one script touches up to three keys, which must share a slot. Each key
//! expires when its bucket is full again, so Redis holds only chats active in the last bucket
//! period.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{RedisResult, Script, aio::ConnectionManager};
use sluice_shared::metrics as m;

use self::batch::{Batcher, Owned};
use super::{Ask, Verdict, gcra::Decision, local::LocalLimiter};

mod batch;

/// After [`BREAKER_AFTER`] failures in a row, local limits decide for this long before Redis is
/// tried again: a dead Redis must not cost every request a connection attempt or a timeout.
const BREAKER_OPEN: Duration = Duration::from_secs(1);
/// One slow answer is decided locally on its own; only a run of failures opens the breaker,
/// since every local decision lets each replica admit up to the full limits.
const BREAKER_AFTER: u32 = 3;

/// At most one fallback warning per this period, with the count since the last one.
const WARN_EVERY: Duration = Duration::from_secs(10);

pub struct RedisLimiter {
    conn: ConnectionManager,
    script: Script,
    batcher: Batcher,
    /// `<prefix>:rl:{<prefix>}`: every key of the limiter starts with it.
    keys: String,
    budget: Duration,
    fallback: Arc<LocalLimiter>,
    /// Unix milliseconds until which Redis is left alone.
    breaker_until_ms: AtomicU64,
    /// Failures since the last answer from Redis.
    failures_in_a_row: AtomicU32,
    last_warn_ms: AtomicU64,
    fallbacks_since_warn: AtomicU64,
}

impl RedisLimiter {
    /// Spawns the batch task: call it inside a Tokio runtime.
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        budget: Duration,
        fallback: Arc<LocalLimiter>,
    ) -> Self {
        let script = Script::new(include_str!("redis/ratelimit.lua"));
        let keys = format!("{prefix}:rl:{{{prefix}}}");
        RedisLimiter {
            batcher: Batcher::spawn(script.clone(), conn.clone(), keys.clone()),
            conn,
            script,
            keys,
            budget,
            fallback,
            breaker_until_ms: AtomicU64::new(0),
            failures_in_a_row: AtomicU32::new(0),
            last_warn_ms: AtomicU64::new(0),
            fallbacks_since_warn: AtomicU64::new(0),
        }
    }

    /// Decides in Redis within the budget; otherwise with the local limits.
    pub async fn check(&self, ask: &Ask<'_>) -> Verdict {
        let now_ms = unix_ms();
        if now_ms < self.breaker_until_ms.load(Ordering::Relaxed) {
            return self.fall_back(ask, "breaker", None);
        }
        match tokio::time::timeout(self.budget, self.batcher.decide(ask)).await {
            Ok(Ok((decision, now_us))) => {
                self.failures_in_a_row.store(0, Ordering::Relaxed);
                to_verdict(decision, now_us)
            }
            Ok(Err(e)) => self.failed(ask, "error", e),
            Err(_) => self.failed(
                ask,
                "timeout",
                format!("no answer within {:?}", self.budget),
            ),
        }
    }

    fn failed(&self, ask: &Ask<'_>, reason: &'static str, why: String) -> Verdict {
        if self.failures_in_a_row.fetch_add(1, Ordering::Relaxed) + 1 >= BREAKER_AFTER {
            self.failures_in_a_row.store(0, Ordering::Relaxed);
            let until = unix_ms() + BREAKER_OPEN.as_millis() as u64;
            self.breaker_until_ms.store(until, Ordering::Relaxed);
        }
        self.fall_back(ask, reason, Some(why))
    }

    /// Connects and loads the script ahead of the first request, so that it does not pay for
    /// the connection and the NOSCRIPT round trip within its budget. Best effort.
    pub async fn warm_up(&self) {
        let mut conn = self.conn.clone();
        if let Err(e) = self.script.prepare_invoke().load_async(&mut conn).await {
            tracing::warn!(error = %e, "could not load the rate-limit script into Redis yet");
        }
    }

    fn fall_back(&self, ask: &Ask<'_>, reason: &'static str, why: Option<String>) -> Verdict {
        metrics::counter!(m::RATELIMIT_FALLBACK_TOTAL, m::LABEL_REASON => reason).increment(1);
        let n = self.fallbacks_since_warn.fetch_add(1, Ordering::Relaxed) + 1;
        let now = unix_ms();
        let last = self.last_warn_ms.load(Ordering::Relaxed);
        let due = now.saturating_sub(last) >= WARN_EVERY.as_millis() as u64;
        if due
            && self
                .last_warn_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.fallbacks_since_warn.store(0, Ordering::Relaxed);
            tracing::warn!(
                reason,
                error = why.as_deref().unwrap_or("redis recently failed"),
                fallbacks = n,
                "rate limits decided locally: Redis (SLUICE_RATE_REDIS_URL) is unavailable; each replica now admits up to the full limits"
            );
        }
        self.fallback.check(ask)
    }

    /// Decides `asks` in order in one script call, bypassing the batcher; `now_us` replaces
    /// the server clock. For tests that compare the script with [`super::gcra`].
    pub async fn decide_batch(
        &self,
        asks: &[Ask<'_>],
        now_us: Option<u64>,
    ) -> RedisResult<Vec<(Decision, u64)>> {
        let owned: Vec<Owned> = asks.iter().map(Owned::from).collect();
        let refs: Vec<&Owned> = owned.iter().collect();
        batch::invoke(
            &self.script,
            &mut self.conn.clone(),
            &self.keys,
            &refs,
            now_us,
        )
        .await
    }
}

/// A decision in Redis time as the handler needs it. Delays keep Redis's absolute time, so the
/// jobs of one chat stay in order whichever replica admitted them.
fn to_verdict(decision: Decision, now_us: u64) -> Verdict {
    match decision {
        Decision::Admit => Verdict::Admit,
        Decision::Delay { at } => Verdict::Delay {
            until: UNIX_EPOCH + Duration::from_micros(at),
        },
        Decision::Drop { limit } => Verdict::Drop(limit),
        Decision::Reject { limit, at } => Verdict::Reject {
            limit,
            wait: Duration::from_micros(at.saturating_sub(now_us)),
        },
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
