//! The limiter every worker shares: GCRA buckets in Redis per bot, per chat, per group and for
//! the paid-broadcast budget, plus a per-bot freeze set by a 429; one Lua script call decides a
//! call's turn atomically (`limiter/reserve.lua`).
//!
//! A call books its turn and sleeps until then: it does not poll. Only a call to a chat that is
//! not free yet is told to come back (see the script for why), and it comes back exactly when
//! the chat frees up. After any sleep the freeze is read again, so a 429 received by another
//! worker meanwhile stops this send too.
//!
//! Keys: `<prefix>:botapi:{<prefix>:<bot>}:f` (freeze), `…:b` (bot), `…:p` (paid),
//! `…:c:<chat>`, `…:g:<chat>`. The braces are a Redis Cluster hash tag: one call's keys share a
//! bot, hence a slot. Each bucket key expires when the bucket is full again.

use std::time::{Duration, Instant};

use redis::{Script, aio::ConnectionManager};
use sluice_shared::gcra::Quota;

use crate::{config::Limits, error::BotApiError, params::Chat};

/// Longest a limiter round trip may take; past it the call fails rather than send unchecked.
const REDIS_BUDGET: Duration = Duration::from_secs(2);

/// Which buckets one call meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The chat a message goes to (its bucket, and its group's when it is one).
    pub chat: Option<Chat>,
    /// `allow_paid_broadcast`: the paid budget instead of the bot's.
    pub paid: bool,
}

/// What one script call decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Booked: send after this wait.
    Booked(Duration),
    /// The chat is busy: ask again after this wait (nothing booked).
    Retry(Duration),
    /// Further away than allowed (nothing booked).
    Refused(Duration),
}

#[derive(Clone)]
pub struct Limiter {
    conn: ConnectionManager,
    reserve: Script,
    freeze: Script,
    prefix: String,
    limits: Limits,
}

impl Limiter {
    pub fn new(conn: ConnectionManager, prefix: &str, limits: Limits) -> Limiter {
        Limiter {
            conn,
            reserve: Script::new(include_str!("limiter/reserve.lua")),
            freeze: Script::new(include_str!("limiter/freeze.lua")),
            prefix: prefix.to_owned(),
            limits,
        }
    }

    fn key(&self, bot: &str, suffix: &str) -> String {
        format!("{0}:botapi:{{{0}:{bot}}}:{suffix}", self.prefix)
    }

    /// Waits for the call's turn, at most `max_wait`; returns how long it waited.
    pub async fn acquire(
        &self,
        bot: &str,
        plan: &Plan,
        max_wait: Duration,
    ) -> Result<Duration, BotApiError> {
        let start = Instant::now();
        loop {
            let left = max_wait.saturating_sub(start.elapsed());
            match self.turn(bot, plan, left, None).await? {
                Turn::Booked(wait) if wait.is_zero() => return Ok(start.elapsed()),
                Turn::Booked(wait) => {
                    tokio::time::sleep(wait).await;
                    // A freeze set while we slept wins over the booking.
                    if self.frozen_for(bot).await?.is_zero() {
                        return Ok(start.elapsed());
                    }
                }
                Turn::Retry(wait) => tokio::time::sleep(wait).await,
                Turn::Refused(wait) => return Err(BotApiError::WaitTooLong(wait)),
            }
        }
    }

    /// One decision; `now_us` replaces Redis's clock (tests of the arithmetic).
    pub async fn turn(
        &self,
        bot: &str,
        plan: &Plan,
        max_wait: Duration,
        now_us: Option<u64>,
    ) -> Result<Turn, BotApiError> {
        let mut buckets: Vec<(String, Quota)> = Vec::with_capacity(3);
        if let Some(chat) = &plan.chat {
            buckets.push((
                self.key(bot, &format!("c:{}", chat.key())),
                self.limits.chat,
            ));
            if chat.is_group() {
                buckets.push((
                    self.key(bot, &format!("g:{}", chat.key())),
                    self.limits.group,
                ));
            }
        }
        let targets = buckets.len();
        if plan.paid {
            buckets.push((self.key(bot, "p"), self.limits.paid));
        } else {
            buckets.push((self.key(bot, "b"), self.limits.bot));
        }
        let mut call = self.reserve.prepare_invoke();
        call.key(self.key(bot, "f"));
        call.arg(now_us.map(|n| n.to_string()).unwrap_or_default())
            .arg(max_wait.as_micros() as u64)
            .arg(targets);
        for (key, quota) in &buckets {
            call.key(key).arg(quota.t).arg(quota.tau);
        }
        let mut conn = self.conn.clone();
        let (verdict, wait_us, _binding): (u8, u64, u32) =
            tokio::time::timeout(REDIS_BUDGET, call.invoke_async(&mut conn))
                .await
                .map_err(|_| BotApiError::Limiter(format!("no answer within {REDIS_BUDGET:?}")))?
                .map_err(|e| BotApiError::Limiter(e.to_string()))?;
        let wait = Duration::from_micros(wait_us);
        Ok(match verdict {
            0 => Turn::Booked(wait),
            1 => Turn::Retry(wait),
            _ => Turn::Refused(wait),
        })
    }

    /// Freezes the bot's sends on every worker for `period` (never shortens a longer freeze).
    pub async fn freeze(&self, bot: &str, period: Duration) -> Result<(), BotApiError> {
        let mut conn = self.conn.clone();
        let _: i64 = tokio::time::timeout(
            REDIS_BUDGET,
            self.freeze
                .key(self.key(bot, "f"))
                .arg(period.as_millis().max(1) as u64)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(|_| BotApiError::Limiter(format!("no answer within {REDIS_BUDGET:?}")))?
        .map_err(|e| BotApiError::Limiter(e.to_string()))?;
        Ok(())
    }

    /// How long the bot stays frozen (zero: not frozen).
    pub async fn frozen_for(&self, bot: &str) -> Result<Duration, BotApiError> {
        let mut conn = self.conn.clone();
        let ms: i64 = tokio::time::timeout(
            REDIS_BUDGET,
            redis::cmd("PTTL")
                .arg(self.key(bot, "f"))
                .query_async(&mut conn),
        )
        .await
        .map_err(|_| BotApiError::Limiter(format!("no answer within {REDIS_BUDGET:?}")))?
        .map_err(|e| BotApiError::Limiter(e.to_string()))?;
        Ok(Duration::from_millis(ms.max(0) as u64))
    }

    /// Loads both scripts ahead of the first call (best effort), so that it does not pay for
    /// the NOSCRIPT round trip.
    pub async fn warm_up(&self) {
        let mut conn = self.conn.clone();
        for script in [&self.reserve, &self.freeze] {
            if let Err(e) = script.prepare_invoke().load_async(&mut conn).await {
                tracing::warn!(error = %e, "could not load the Bot API limiter's scripts yet");
            }
        }
    }
}
