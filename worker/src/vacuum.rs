//! Keeps Redis memory flat: removes the bookkeeping of finished jobs, expires dead letters past
//! their retention ([`crate::retention`]), and samples the dead-letter gauge.
//!
//! apalis-redis 1.0 keeps every finished job's data, metadata and id in its done set until
//! vacuumed, and its own vacuum scans the whole data hash (O(backlog) in one script). This one
//! pops at most `batch` ids from the done set per call, so each call is O(batch).

use std::{
    sync::LazyLock,
    time::{Duration, Instant},
};

use redis::{Script, aio::ConnectionManager};
use sluice_shared::{lanes::Lane, metrics as m};

use sluice_shared::dlq::DeadLetters;

static VACUUM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS[1] done set, KEYS[2] data hash; ARGV[1] meta key prefix, ARGV[2] batch
local ids = redis.call('SPOP', KEYS[1], tonumber(ARGV[2]))
for _, id in ipairs(ids) do
    redis.call('HDEL', KEYS[2], id)
    redis.call('DEL', ARGV[1] .. ':' .. id)
end
return #ids
",
    )
});

/// Removes up to `batch` finished jobs of one lane; returns how many.
pub async fn vacuum_lane(
    conn: &mut ConnectionManager,
    prefix: &str,
    lane: Lane,
    batch: usize,
) -> redis::RedisResult<u64> {
    let queue = lane.queue_name(prefix);
    VACUUM
        .key(format!("{queue}:done"))
        .key(format!("{queue}:data"))
        .arg(format!("{queue}:meta"))
        .arg(batch)
        .invoke_async(conn)
        .await
}

/// How often dead letters are checked against their retention: the retention is days, and a
/// pass walks apalis's whole (unordered) dead set.
const RETENTION_EVERY: Duration = Duration::from_secs(60);
/// How often letters stored without an origin index are looked for (see `run`).
const INDEX_EVERY: Duration = Duration::from_secs(600);

/// Vacuums every lane and refreshes the dead-letter gauge every `every`, and expires dead letters
/// older than `retention` (zero: never) at start and every minute, until aborted.
pub async fn run(
    mut conn: ConnectionManager,
    prefix: String,
    dead: DeadLetters,
    every: Duration,
    retention: Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_retention = Instant::now();
    let mut next_index = Instant::now();
    loop {
        tick.tick().await;
        if Instant::now() >= next_index {
            // Letters an earlier release stored (or one still running in a rolling deploy) get
            // their origin index entry, so the console's filters find them. It reads every id
            // (no payload): not every tick.
            match dead.index_unindexed(500).await {
                Ok(n) => {
                    next_index = Instant::now() + INDEX_EVERY;
                    if n > 0 {
                        tracing::info!(letters = n, "indexed dead letters stored without an index");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "dead-letter indexing skipped"),
            }
        }
        if Instant::now() >= next_retention {
            match crate::retention::run_pass(&mut conn, &dead, &prefix, retention).await {
                Ok(_) => next_retention = Instant::now() + RETENTION_EVERY,
                Err(e) => {
                    tracing::debug!(error = %e, "dead-letter retention skipped: redis unavailable")
                }
            }
        }
        for lane in Lane::ALL {
            // Drain what piled up since the last tick, a bounded batch per call.
            loop {
                match vacuum_lane(&mut conn, &prefix, lane, 500).await {
                    Ok(n) => {
                        metrics::counter!(m::VACUUMED_TOTAL, m::LABEL_LANE => lane.as_str())
                            .increment(n);
                        if n < 500 {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "vacuum skipped: redis unavailable");
                        break;
                    }
                }
            }
        }
        if let Ok(sizes) = dead.sizes().await {
            for (lane, size) in sizes {
                metrics::gauge!(m::DLQ_SIZE, m::LABEL_LANE => lane.as_str()).set(size as f64);
            }
        }
    }
}
