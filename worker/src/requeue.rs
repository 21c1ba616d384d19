//! Puts an update back in its lane's queue: a retry after a delay, a dead letter replayed, or a
//! job this process fetched and never started.
//!
//! The job gets a new id and no idempotency key: the key of (bot, update_id) is still claimed by
//! the first delivery, and the `updates` row is idempotent on its own.

use std::time::{Duration, SystemTime};

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use redis::aio::ConnectionManager;
use sluice_shared::{
    job::Job,
    lanes::Lane,
    queue::{QueueConfig, lane_config, run_at_secs},
};
use ulid::Ulid;

/// The longest a job can be parked if a caller passes an out-of-range delay: a year.
const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

#[derive(Clone)]
pub struct Requeue {
    conn: ConnectionManager,
    lanes: [apalis_redis::Config; 3],
}

impl Requeue {
    pub fn new(conn: ConnectionManager, prefix: &str, queue: &QueueConfig) -> Self {
        Requeue {
            conn,
            lanes: Lane::ALL.map(|lane| lane_config(prefix, lane, queue)),
        }
    }

    /// Queues `job` to run after `delay` (whole seconds: apalis-redis schedules by the second).
    pub async fn push(&self, job: &Job, delay: Duration) -> Result<String, apalis_redis::Error> {
        let job_id = Ulid::generate();
        // Checked: a delay past the clock's range must not panic the lane (the policy clamps
        // delays, but this is the one place a Duration meets the wall clock).
        let now = SystemTime::now();
        let run_at = run_at_secs(now.checked_add(delay.min(MAX_DELAY)).unwrap_or(now));
        let bytes = serde_json::to_vec(job).map_err(apalis_redis::Error::Json)?;
        let task = TaskBuilder::new(bytes)
            .task_id(TaskId::from_ulid(job_id))
            .run_at_timestamp(run_at)
            .build();
        let config = &self.lanes[job.lane.index()];
        let mut conn = self.conn.clone();
        apalis_redis::queries::push_tasks(&mut conn, config, &[task]).await?;
        Ok(job_id.to_string())
    }

    /// Once every lane consumer of the worker `worker_id` has stopped, puts back at the end of
    /// its lane every job still in one of their in-flight sets, and returns how many.
    ///
    /// apalis hands fetched-but-unstarted jobs back when a consumer stops, but a fetch that
    /// completes while the consumer is stopping leaves its whole batch in the in-flight set, where
    /// only orphan recovery (after `SLUICE_ORPHAN_TIMEOUT`) would find it. Releasing a job
    /// whose acknowledgement was lost is harmless: the `updates` row is idempotent.
    pub async fn release_held(&self, worker_id: &str) -> redis::RedisResult<u64> {
        let release = redis::Script::new(RELEASE_HELD);
        let mut conn = self.conn.clone();
        let mut released = 0;
        for (lane, config) in Lane::ALL.iter().zip(&self.lanes) {
            // Consumer names are `{worker_id}-{lane}-{incarnation}` (see startup).
            let pattern = format!("{}:{worker_id}-{lane}-*", config.inflight_jobs_set());
            let mut sets: Vec<String> = Vec::new();
            let mut cursor = 0u64;
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut conn)
                    .await?;
                sets.extend(keys);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            for set in sets {
                let n: u64 = release
                    .key(&set)
                    .key(config.active_jobs_list())
                    .key(config.signal_list())
                    .arg(config.job_meta_hash())
                    .invoke_async(&mut conn)
                    .await?;
                released += n;
            }
        }
        Ok(released)
    }
}

/// Moves every member of an in-flight set (KEYS[1]) to the end of the active list (KEYS[2]),
/// marks each Pending in its meta hash (ARGV[1]:id, as apalis-redis keeps them) and wakes the
/// consumers through the signal list (KEYS[3]).
const RELEASE_HELD: &str = r#"
local ids = redis.call("SMEMBERS", KEYS[1])
if #ids == 0 then return 0 end
for _, id in ipairs(ids) do
    redis.call("RPUSH", KEYS[2], id)
    redis.call("HSET", ARGV[1] .. ":" .. id, "status", "Pending")
    redis.call("HDEL", ARGV[1] .. ":" .. id, "locked_at", "locked_by")
end
redis.call("DEL", KEYS[1])
redis.call("DEL", KEYS[3])
redis.call("LPUSH", KEYS[3], 1)
return #ids
"#;
