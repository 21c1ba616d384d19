//! Dead-letter retention (`SLUICE_DLQ_RETENTION`): what failed for good is kept long enough to be
//! looked at and replayed, then deleted, so that a poison flood cannot fill Redis for ever.
//!
//! Two sets hold dead jobs per lane:
//! - ours ([`crate::dlq`]): `<q>:dlq` (ids by death time, ms) and `<q>:dlq:entries` (full
//!   payloads). Expired ids are found with `ZRANGEBYSCORE … LIMIT` in bounded batches.
//! - apalis-redis 1.0's `<q>:dead`: a plain set of task ids (it lands there only when settling a
//!   job failed 25 times, e.g. Redis flapping), whose payload stays in the `<q>:data` hash and
//!   whose `<q>:meta:<id>` hash records `done_at` (unix seconds). A set has no order, so it is
//!   walked with `SSCAN` in bounded steps and each id's age read from `done_at` (or, when the
//!   metadata is gone, from the id's ULID timestamp).
//!
//! Every command touches at most [`BATCH`] ids, so a large backlog of expired entries never
//! blocks Redis; removals are counted in `sluice_dlq_expired_total{lane,set}`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use sluice_shared::{
    lanes::{Lane, PerLane},
    metrics as m,
};

use sluice_shared::dlq::{DeadLetters, DlqError};

/// Ids per Redis command.
pub const BATCH: usize = 500;

/// What one retention pass removed in one lane.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// From our dead letters.
    pub dlq: u64,
    /// From apalis-redis's `:dead` set (with their data and metadata).
    pub apalis_dead: u64,
}

/// Deletes, in every lane, the dead letters of both sets that died more than `retention` ago,
/// and counts them. A `retention` of zero keeps them for ever.
pub async fn run_pass(
    conn: &mut ConnectionManager,
    dead: &DeadLetters,
    prefix: &str,
    retention: Duration,
) -> Result<PerLane<Expired>, DlqError> {
    let mut out = PerLane::<Expired>::default();
    if retention.is_zero() {
        return Ok(out);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let cutoff = now.saturating_sub(retention);
    for (lane, slot) in out.iter_mut() {
        slot.dlq = dead
            .purge_lane_before(lane, cutoff.as_millis() as i64, BATCH)
            .await?;
        slot.apalis_dead = expire_apalis_dead(conn, prefix, lane, cutoff).await?;
        let lane = lane.as_str();
        metrics::counter!(m::DLQ_EXPIRED_TOTAL, m::LABEL_LANE => lane, m::LABEL_SET => "dlq")
            .increment(slot.dlq);
        metrics::counter!(m::DLQ_EXPIRED_TOTAL, m::LABEL_LANE => lane, m::LABEL_SET => "apalis_dead")
            .increment(slot.apalis_dead);
    }
    Ok(out)
}

/// Walks one lane's apalis `:dead` set and deletes the entries that died before `cutoff` (unix
/// time), with their payload and metadata; returns how many.
async fn expire_apalis_dead(
    conn: &mut ConnectionManager,
    prefix: &str,
    lane: Lane,
    cutoff: Duration,
) -> redis::RedisResult<u64> {
    let queue = lane.queue_name(prefix);
    let (set, data, meta) = (
        format!("{queue}:dead"),
        format!("{queue}:data"),
        format!("{queue}:meta"),
    );
    let mut removed = 0;
    let mut cursor = 0u64;
    loop {
        let (next, ids): (u64, Vec<String>) = redis::cmd("SSCAN")
            .arg(&set)
            .arg(cursor)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(conn)
            .await?;
        if !ids.is_empty() {
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.hget(format!("{meta}:{id}"), "done_at");
            }
            let done_at: Vec<Option<u64>> = pipe.query_async(conn).await?;
            let old: Vec<&String> = ids
                .iter()
                .zip(done_at)
                .filter(|(id, done_at)| died_before(id, *done_at, cutoff))
                .map(|(id, _)| id)
                .collect();
            if !old.is_empty() {
                let mut pipe = redis::pipe();
                pipe.atomic().srem(&set, &old).hdel(&data, &old).ignore();
                // apalis's own vacuum also clears `<meta>:result`; harmless when absent.
                pipe.hdel(format!("{meta}:result"), &old).ignore();
                for id in &old {
                    pipe.del(format!("{meta}:{id}")).ignore();
                }
                // Counted by SREM: an id removed meanwhile by another worker counts once.
                let (gone,): (u64,) = pipe.query_async(conn).await?;
                removed += gone;
            }
        }
        // SSCAN may return an element more than once, never skips one present throughout.
        if next == 0 {
            return Ok(removed);
        }
        cursor = next;
    }
}

/// Whether an apalis dead entry is older than `cutoff`: by its `done_at` (unix seconds), else by
/// its id's ULID time (the job's creation, which is earlier than its death: such an entry goes a
/// little early, never late). An entry whose age cannot be told is kept.
fn died_before(id: &str, done_at: Option<u64>, cutoff: Duration) -> bool {
    match done_at {
        Some(s) => Duration::from_secs(s) < cutoff,
        None => ulid::Ulid::from_string(id)
            .is_ok_and(|u| Duration::from_millis(u.timestamp_ms()) < cutoff),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_comes_from_done_at_then_the_ulid() {
        let cutoff = Duration::from_secs(1_764_000_000);
        assert!(died_before("x", Some(1_763_999_999), cutoff));
        assert!(!died_before("x", Some(1_764_000_000), cutoff));
        let old = ulid::Ulid::from_parts(1_000_000, 7).to_string();
        let young = ulid::Ulid::from_parts(1_764_000_001_000, 7).to_string();
        assert!(died_before(&old, None, cutoff));
        assert!(!died_before(&young, None, cutoff));
        assert!(
            !died_before("not-a-ulid", None, cutoff),
            "unknown age: kept"
        );
    }
}
