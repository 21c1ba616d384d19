//! Moves due jobs from a lane's scheduled set to its active list, a bounded chunk at a time, and
//! the lane's due ordered jobs (retries that hold their key) to the front of the list.
//!
//! apalis-redis 1.0 schedules every pushed task (even one due now) and its fetch script promotes
//! *all* due tasks with one `RPUSH ... unpack(ids)`. Lua cannot unpack more than ~8 000 values, so
//! a backlog larger than that (workers down for a while, a burst, retries coming due together)
//! makes every fetch fail and the lane stalls. Promoting here first, in chunks, keeps the due part
//! of the scheduled set small enough for apalis's fetch, whatever the backlog.
//!
//! An ordered job that failed holds its key until it runs again: at the tail of a deep lane its
//! key would stay held for the whole backlog's drain, far past `SLUICE_ORDER_MAX_HOLD`. Such jobs
//! wait in their own set (`sluice_shared::queue::order`), which apalis never reads, and go to the
//! front when due, as a woken parked job does: the hold is then bounded by the max hold, one
//! attempt and this promoter's tick, whatever the backlog.

use std::{
    sync::LazyLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{Script, aio::ConnectionManager};
use sluice_shared::{lanes::Lane, queue::order::order_due_set};

use crate::order::Wakers;

/// Ids moved per script call: small enough to unpack, large enough to drain 100k in a moment.
pub const CHUNK: usize = 4000;

static PROMOTE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS[1] scheduled zset, KEYS[2] active list, KEYS[3] ordered due zset
-- ARGV[1] now (unix s), ARGV[2] limit
-- Returns {jobs moved to the tail, ordered jobs moved to the front}.
local function due(set)
    return redis.call('ZRANGEBYSCORE', set, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
end
local ids = due(KEYS[1])
for i = 1, #ids, 1000 do
    local chunk = {unpack(ids, i, math.min(i + 999, #ids))}
    redis.call('RPUSH', KEYS[2], unpack(chunk))
    redis.call('ZREM', KEYS[1], unpack(chunk))
end
-- Last, and latest-due first, so the earliest-due ordered job ends up at the very front.
local held = due(KEYS[3])
for i = #held, 1, -1 do
    redis.call('LPUSH', KEYS[2], held[i])
    redis.call('ZREM', KEYS[3], held[i])
end
return {#ids, #held}
",
    )
});

/// Promotes up to [`CHUNK`] due jobs of `lane` (and as many due ordered ones); returns how many
/// moved to the tail and to the front.
pub async fn promote_chunk(
    conn: &mut ConnectionManager,
    prefix: &str,
    lane: Lane,
) -> redis::RedisResult<(usize, usize)> {
    let queue = lane.queue_name(prefix);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    PROMOTE
        .key(format!("{queue}:scheduled"))
        .key(format!("{queue}:active"))
        .key(order_due_set(prefix, lane))
        .arg(now)
        .arg(CHUNK)
        .invoke_async(conn)
        .await
}

/// Promotes every due job of `lane`, chunk by chunk; returns how many moved, and how many of
/// them to the front.
pub async fn promote_all(
    conn: &mut ConnectionManager,
    prefix: &str,
    lane: Lane,
) -> redis::RedisResult<(usize, usize)> {
    let (mut moved, mut fronted) = (0, 0);
    loop {
        let (tail, front) = promote_chunk(conn, prefix, lane).await?;
        moved += tail + front;
        fronted += front;
        if tail < CHUNK && front < CHUNK {
            return Ok((moved, fronted));
        }
    }
}

/// Keeps every lane's due sets drained, every `every`, until aborted; a lane that received a
/// job at its front is woken in this process at once.
pub async fn run(mut conn: ConnectionManager, prefix: String, every: Duration, wakers: Wakers) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for lane in Lane::ALL {
            match promote_all(&mut conn, &prefix, lane).await {
                Ok((_, fronted)) if fronted > 0 => wakers.wake(lane),
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, %lane, "promotion skipped: redis unavailable")
                }
            }
        }
    }
}
