//! Handing back the jobs a stopped worker still holds: [`Pusher::release_held`].

use redis::Script;

use super::push::Pusher;

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

impl Pusher {
    /// Once every lane consumer of the worker `worker_id` has stopped, puts back at the end of
    /// its lane every job still in one of their in-flight sets, and returns how many.
    ///
    /// apalis hands fetched-but-unstarted jobs back when a consumer stops, but a fetch that
    /// completes while the consumer is stopping leaves its whole batch in the in-flight set, where
    /// only orphan recovery (after `SLUICE_ORPHAN_TIMEOUT_S`) would find it. Releasing a job
    /// whose acknowledgement was lost is harmless: the `updates` row is idempotent.
    pub async fn release_held(&self, worker_id: &str) -> redis::RedisResult<u64> {
        let release = Script::new(RELEASE_HELD);
        let mut released = 0;
        for (lane, config) in self.keys().lanes.iter() {
            let mut conn = self.conn(lane);
            // Consumer names are `{worker_id}-{lane}-{incarnation}` (see the worker's startup).
            let pattern = format!("{}:{worker_id}-{lane}-*", config.inflight_jobs_set());
            for set in scan(&mut conn, &pattern).await? {
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

/// Every key matching `pattern`.
async fn scan(
    conn: &mut redis::aio::ConnectionManager,
    pattern: &str,
) -> redis::RedisResult<Vec<String>> {
    let (mut keys, mut cursor) = (Vec::new(), 0u64);
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(1000)
            .query_async(conn)
            .await?;
        keys.extend(batch);
        if next == 0 {
            return Ok(keys);
        }
        cursor = next;
    }
}
