//! Moves due jobs from a lane's scheduled set to its active list, a bounded chunk at a time.
//!
//! apalis-redis 1.0 schedules every pushed task (even one due now) and its fetch script promotes
//! *all* due tasks with one `RPUSH ... unpack(ids)`. Lua cannot unpack more than ~8 000 values, so
//! a backlog larger than that (workers down for a while, a burst, retries coming due together)
//! makes every fetch fail and the lane stalls. Promoting here first, in chunks, keeps the due part
//! of the scheduled set small enough for apalis's fetch, whatever the backlog.

use std::{
    sync::LazyLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{Script, aio::ConnectionManager};
use sluice_shared::lanes::Lane;

/// Ids moved per script call: small enough to unpack, large enough to drain 100k in a moment.
pub const CHUNK: usize = 4000;

static PROMOTE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS[1] scheduled zset, KEYS[2] active list; ARGV[1] now (unix s), ARGV[2] limit
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for i = 1, #ids, 1000 do
    local chunk = {unpack(ids, i, math.min(i + 999, #ids))}
    redis.call('RPUSH', KEYS[2], unpack(chunk))
    redis.call('ZREM', KEYS[1], unpack(chunk))
end
return #ids
",
    )
});

/// Promotes up to [`CHUNK`] due jobs of `lane`; returns how many moved.
pub async fn promote_chunk(
    conn: &mut ConnectionManager,
    prefix: &str,
    lane: Lane,
) -> redis::RedisResult<usize> {
    let queue = lane.queue_name(prefix);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    PROMOTE
        .key(format!("{queue}:scheduled"))
        .key(format!("{queue}:active"))
        .arg(now)
        .arg(CHUNK)
        .invoke_async(conn)
        .await
}

/// Promotes every due job of `lane`, chunk by chunk.
pub async fn promote_all(
    conn: &mut ConnectionManager,
    prefix: &str,
    lane: Lane,
) -> redis::RedisResult<usize> {
    let mut moved = 0;
    loop {
        let n = promote_chunk(conn, prefix, lane).await?;
        moved += n;
        if n < CHUNK {
            return Ok(moved);
        }
    }
}

/// Keeps every lane's due set drained, every `every`, until aborted.
pub async fn run(mut conn: ConnectionManager, prefix: String, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        for lane in Lane::ALL {
            if let Err(e) = promote_all(&mut conn, &prefix, lane).await {
                tracing::debug!(error = %e, %lane, "promotion skipped: redis unavailable");
            }
        }
    }
}
