//! A person's jobs still in the lanes' apalis-redis queues, removed for `history erase`.
//!
//! Each lane's `<q>:data` hash (job id → job JSON) is walked with `HSCAN` in bounded steps; the
//! ids whose job matches go through one script per step that, for each id, takes it out of the
//! active list, the scheduled set and the ordered due set (waiting jobs) or the dead, done and
//! failed sets (jobs the queue kept after the end), and only then deletes its data and
//! `<q>:meta:<id>`. An id in none of them is in a worker's hands: its data stays, because apalis
//! fails a fetch whose data is gone (after an orphan recovery), and it is counted as in flight.

use std::{collections::HashSet, sync::LazyLock};

use redis::{Script, aio::ConnectionManager};
use sluice_shared::{
    job::Job,
    lanes::{Lane, PerLane},
    queue::order::order_due_set,
};

/// Hash entries per `HSCAN` step.
const BATCH: usize = 500;

static TAKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- KEYS: active list, scheduled set, dead set, done set, failed set, data hash, ordered due set
-- ARGV[1] meta key prefix, ARGV[2..] job ids. Returns {{waiting, kept}, ids in flight}.
local waiting, kept, held = 0, 0, {}
for i = 2, #ARGV do
    local id = ARGV[i]
    local w = redis.call('LREM', KEYS[1], 1, id) + redis.call('ZREM', KEYS[2], id)
        + redis.call('ZREM', KEYS[7], id)
    local k = redis.call('SREM', KEYS[3], id) + redis.call('SREM', KEYS[4], id)
        + redis.call('SREM', KEYS[5], id)
    if w + k > 0 then
        redis.call('HDEL', KEYS[6], id)
        redis.call('DEL', ARGV[1] .. ':' .. id)
        if w > 0 then waiting = waiting + 1 else kept = kept + 1 end
    elseif redis.call('HEXISTS', KEYS[6], id) == 1 then
        held[#held + 1] = id
    end
end
return {{waiting, kept}, held}
",
    )
});

/// What was found of a person's jobs in one lane.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Taken {
    /// Waiting jobs (due now or later), removed.
    pub waiting: u64,
    /// Finished or dead jobs the queue still kept, removed.
    pub kept: u64,
    /// Jobs a worker holds right now, left alone.
    pub in_flight: u64,
}

/// Removes every lane's queued jobs whose job `matches`.
pub async fn erase(
    conn: &mut ConnectionManager,
    prefix: &str,
    matches: impl Fn(&Job) -> bool,
) -> redis::RedisResult<PerLane<Taken>> {
    let mut out = PerLane::<Taken>::default();
    for lane in Lane::ALL {
        out[lane] = erase_lane(conn, prefix, lane, &matches).await?;
    }
    Ok(out)
}

async fn erase_lane(
    conn: &mut ConnectionManager,
    prefix: &str,
    lane: Lane,
    matches: &impl Fn(&Job) -> bool,
) -> redis::RedisResult<Taken> {
    // The key names are apalis-redis's own (its `Config`), as the workers use them.
    let q = apalis_redis::Config::default().queue(lane.queue_name(prefix));
    let data = q.job_data_hash();
    let (mut cursor, mut taken) = (0u64, Taken::default());
    let mut in_flight = HashSet::new();
    loop {
        let (next, jobs): (u64, Vec<(String, Vec<u8>)>) = redis::cmd("HSCAN")
            .arg(&data)
            .arg(cursor)
            .arg("COUNT")
            .arg(BATCH)
            .query_async(conn)
            .await?;
        let ids: Vec<&String> = jobs
            .iter()
            .filter(|(_, bytes)| serde_json::from_slice::<Job>(bytes).is_ok_and(|j| matches(&j)))
            .map(|(id, _)| id)
            .collect();
        if !ids.is_empty() {
            let ((w, k), held): ((u64, u64), Vec<String>) = TAKE
                .key(q.active_jobs_list())
                .key(q.scheduled_jobs_set())
                .key(q.dead_jobs_set())
                .key(q.done_jobs_set())
                .key(q.failed_jobs_set())
                .key(&data)
                .key(order_due_set(prefix, lane))
                .arg(q.job_meta_hash())
                .arg(&ids)
                .invoke_async(conn)
                .await?;
            taken.waiting += w;
            taken.kept += k;
            // A set: HSCAN may return an id twice, and only removals count themselves once.
            in_flight.extend(held);
        }
        if next == 0 {
            taken.in_flight = in_flight.len() as u64;
            return Ok(taken);
        }
        cursor = next;
    }
}
