//! The enqueue's Redis side: `push.lua` (claim and job in one script) and `known.lua` (the refusal
//! path's duplicate check), each followed in the same round trip by `WAIT` when replicas must
//! acknowledge (`SLUICE_ENQUEUE_MIN_REPLICAS`).

use std::{sync::LazyLock, time::Duration};

use redis::{ErrorKind, FromRedisValue, Script, ServerErrorKind, aio::ConnectionManager};
use sluice_shared::{
    lanes::Lane,
    queue::{QueueConfig, dedup_namespace, lane_config},
};

static PUSH: LazyLock<Lua> = LazyLock::new(|| Lua::new(include_str!("push.lua")));
static KNOWN: LazyLock<Lua> = LazyLock::new(|| Lua::new(include_str!("known.lua")));

/// Why Redis did not confirm a push.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    #[error("redis refused the enqueue: {0}")]
    Redis(String),
    /// The job is on the primary, but fewer replicas than asked have it: a primary lost now
    /// would lose it, so the sender must retry (its retry is a duplicate, confirmed by its own
    /// `WAIT`).
    #[error("{acked} of {wanted} replicas acknowledged in time")]
    Replicas { acked: u32, wanted: u32 },
}

/// Where one lane's jobs and every delivery's claim live.
#[derive(Clone)]
pub(super) struct Keys {
    lane: apalis_redis::Config,
    namespace: String,
    /// Every lane's apalis-redis idempotency set, the claims of api releases before the shared
    /// namespace, while `SLUICE_DEDUP_LANE_KEYS` is on; empty when off.
    legacy: Vec<String>,
    ttl_secs: u64,
    /// `SLUICE_ENQUEUE_MIN_REPLICAS`.
    pub(super) min_replicas: u32,
}

impl Keys {
    pub(super) fn new(
        prefix: &str,
        lane: Lane,
        queue: &QueueConfig,
        lane_keys: bool,
        min_replicas: u32,
    ) -> Keys {
        let legacy = match lane_keys {
            true => Lane::ALL
                .map(|l| lane_config(prefix, l, queue).idempotency_key_set())
                .to_vec(),
            false => Vec::new(),
        };
        Keys {
            lane: lane_config(prefix, lane, queue),
            namespace: dedup_namespace(prefix),
            legacy,
            ttl_secs: queue.dedup_ttl.as_secs().max(1),
            min_replicas,
        }
    }

    /// This lane's own apalis-redis idempotency set, written for older replicas; `""` when off.
    fn own_lane_set(&self) -> String {
        match self.legacy.is_empty() {
            true => String::new(),
            false => self.lane.idempotency_key_set(),
        }
    }
}

/// One job's arguments to `push.lua`.
pub(super) struct JobArgs<'a> {
    pub id: String,
    pub bytes: &'a [u8],
    /// Unix seconds it is due at (now for an immediate job, as apalis-redis does).
    pub run_at: u64,
    pub key: &'a str,
}

/// Claims and queues `jobs` with one script call, then waits up to `wait` for the replicas;
/// says per job whether it was queued (`false`: a duplicate).
pub(super) async fn push(
    conn: &mut ConnectionManager,
    keys: &Keys,
    jobs: &[JobArgs<'_>],
    wait: Duration,
) -> Result<Vec<bool>, Failure> {
    let mut call = ScriptCall::new(&PUSH, keys.min_replicas, 3);
    call.cmd
        .arg(keys.lane.job_data_hash())
        .arg(keys.lane.job_meta_hash())
        .arg(keys.lane.scheduled_jobs_set())
        .arg(keys.ttl_secs)
        .arg(&keys.namespace)
        .arg(keys.own_lane_set())
        .arg(u8::from(keys.min_replicas > 0))
        .arg(keys.legacy.len())
        .arg(&keys.legacy);
    for job in jobs {
        call.cmd
            .arg(&job.id)
            .arg(job.bytes)
            .arg(job.run_at)
            .arg(job.key);
    }
    let queued: Vec<i64> = call.run(conn, keys.min_replicas, wait).await?;
    if queued.len() != jobs.len() {
        return Err(Failure::Redis(format!(
            "the push script answered for {} of {} jobs",
            queued.len(),
            jobs.len()
        )));
    }
    Ok(queued.into_iter().map(|q| q == 1).collect())
}

/// Whether `key` was queued before, in any lane; with replicas required, only once they have
/// acknowledged everything up to the original job.
pub(super) async fn known(
    conn: &mut ConnectionManager,
    keys: &Keys,
    key: &str,
    wait: Duration,
) -> Result<bool, Failure> {
    let mut call = ScriptCall::new(&KNOWN, keys.min_replicas, 0);
    call.cmd
        .arg(key)
        .arg(u8::from(keys.min_replicas > 0))
        .arg(&keys.namespace)
        .arg(&keys.legacy);
    call.run(conn, keys.min_replicas, wait).await
}

/// A Lua script sent by its hash, or by its body when a `WAIT` follows: a `WAIT` pipelined after
/// an `EVALSHA` that Redis answers NOSCRIPT (after a restart or a failover) would spend the budget
/// before the script could be loaded and sent again.
struct ScriptCall {
    script: &'static Script,
    cmd: redis::Cmd,
    by_hash: bool,
}

struct Lua {
    script: Script,
    body: &'static str,
}

impl ScriptCall {
    fn new(lua: &'static Lua, min_replicas: u32, keys: usize) -> ScriptCall {
        let by_hash = min_replicas == 0;
        let mut cmd = redis::cmd(if by_hash { "EVALSHA" } else { "EVAL" });
        match by_hash {
            true => cmd.arg(lua.script.get_hash()),
            false => cmd.arg(lua.body),
        };
        cmd.arg(keys);
        ScriptCall {
            script: &lua.script,
            cmd,
            by_hash,
        }
    }

    /// Runs the script and, when replicas are required, `WAIT` in the same round trip.
    async fn run<T: FromRedisValue>(
        self,
        conn: &mut ConnectionManager,
        min_replicas: u32,
        wait: Duration,
    ) -> Result<T, Failure> {
        let redis_err = |e: redis::RedisError| Failure::Redis(e.to_string());
        if self.by_hash {
            let result = self.cmd.query_async(conn).await;
            return match result {
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    self.script.load_async(conn).await.map_err(redis_err)?;
                    self.cmd.query_async(conn).await.map_err(redis_err)
                }
                other => other.map_err(redis_err),
            };
        }
        // WAIT 0 would block for ever: wait at least a millisecond.
        let wait_ms = wait.as_millis().clamp(1, u64::MAX as u128) as u64;
        let mut pipe = redis::pipe();
        pipe.add_command(self.cmd)
            .cmd("WAIT")
            .arg(min_replicas)
            .arg(wait_ms);
        let (value, acked): (T, u32) = pipe.query_async(conn).await.map_err(redis_err)?;
        match acked < min_replicas {
            true => Err(Failure::Replicas {
                acked,
                wanted: min_replicas,
            }),
            false => Ok(value),
        }
    }
}

impl Lua {
    fn new(body: &'static str) -> Lua {
        Lua {
            script: Script::new(body),
            body,
        }
    }
}
