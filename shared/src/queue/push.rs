//! [`Pusher`]: every write of a job into a lane. The api's enqueue (with its dedup claim), a
//! worker's retry or released job, a replayed dead letter, the backlog tool and the tests all
//! push through it, so jobs have one format in Redis whoever writes them.
//!
//! `push.lua` claims each delivery's dedup key in one namespace for every lane
//! ([`super::dedup_namespace`]) and writes the job the way apalis-redis 1.0's own push does;
//! `known.lua` is the refusal path's duplicate check. With `SLUICE_ENQUEUE_MIN_REPLICAS` both
//! are followed by `WAIT` in the same round trip ([`super::script`]). Jobs are bytes: what they
//! hold is the caller's business.

use std::{
    sync::{Arc, LazyLock},
    time::{Duration, Instant, SystemTime},
};

use redis::aio::ConnectionManager;
use ulid::Ulid;

use super::{
    PushError, QueueConfig, dedup_namespace, lane_config,
    order::{Order, due_set_in, order_namespace},
    run_at_secs,
    script::{Lua, ScriptCall, wait_within},
};
use crate::lanes::{Lane, PerLane};

static PUSH: LazyLock<Lua> = LazyLock::new(|| Lua::new(include_str!("push.lua")));
static KNOWN: LazyLock<Lua> = LazyLock::new(|| Lua::new(include_str!("known.lua")));

/// The longest a job can be parked if a caller passes an out-of-range delay: a year.
const MAX_DELAY: Duration = Duration::from_secs(365 * 24 * 3600);

/// What became of one pushed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// A new job, in its lane.
    Queued,
    /// Its dedup key was claimed before, in any lane: no second job was made.
    Duplicate,
}

/// One job to push.
#[derive(Debug, Clone, Copy)]
pub struct NewJob<'a> {
    /// Its apalis-redis task id.
    pub id: Ulid,
    /// The job as its consumers read it (JSON for ours).
    pub bytes: &'a [u8],
    /// The delivery's dedup key (`tg:<bot>:<update_id>`, `src:<source>:<key>`), claimed for
    /// `SLUICE_DEDUP_TTL`; `None` claims nothing and is never a duplicate.
    pub key: Option<&'a str>,
    /// The Unix second it is due at ([`super::due_at`]).
    pub run_at: u64,
    /// Its place in its key's order (`None`: unordered).
    pub order: Option<Order<'a>>,
}

/// How pushes claim and confirm; the api's settings, [`Default`] as the api's defaults.
#[derive(Debug, Clone, Copy)]
pub struct PushOptions {
    /// Also claim (and check) apalis-redis's per-lane keys, so api replicas of the previous
    /// release agree during a rolling deploy (`SLUICE_DEDUP_LANE_KEYS`).
    pub lane_keys: bool,
    /// Replicas that must have a push before it is confirmed (`SLUICE_ENQUEUE_MIN_REPLICAS`).
    pub min_replicas: u32,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            lane_keys: true,
            min_replicas: 0,
        }
    }
}

/// Writes jobs into the lanes under one prefix; cheap to clone.
#[derive(Clone)]
pub struct Pusher {
    /// Each lane's connection: one cloned, or one each so that a lane's `WAIT` does not hold
    /// the other lanes' pushes behind it.
    conns: PerLane<ConnectionManager>,
    keys: Arc<Keys>,
}

/// Where the lanes' jobs and every delivery's claim live.
pub(super) struct Keys {
    pub(super) lanes: PerLane<apalis_redis::Config>,
    namespace: String,
    /// Where each ordering key's state lives (`<prefix>:order`).
    pub(super) order_ns: String,
    /// Every lane's apalis-redis idempotency set, the claims of api releases before the shared
    /// namespace, while `SLUICE_DEDUP_LANE_KEYS` is on; empty when off.
    legacy: Vec<String>,
    pub(super) ttl_secs: u64,
    min_replicas: u32,
}

impl Pusher {
    /// A pusher whose lanes share `conn`.
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        queue: &QueueConfig,
        opts: PushOptions,
    ) -> Self {
        Pusher::with_lane_connections(PerLane::splat(conn), prefix, queue, opts)
    }

    /// A pusher with a connection of each lane's own (the api's, when pushes wait for replicas).
    pub fn with_lane_connections(
        conns: PerLane<ConnectionManager>,
        prefix: &str,
        queue: &QueueConfig,
        opts: PushOptions,
    ) -> Self {
        let lanes = PerLane::from_fn(|lane| lane_config(prefix, lane, queue));
        let legacy = match opts.lane_keys {
            true => lanes.values().map(|c| c.idempotency_key_set()).collect(),
            false => Vec::new(),
        };
        let keys = Keys {
            lanes,
            namespace: dedup_namespace(prefix),
            order_ns: order_namespace(prefix),
            legacy,
            ttl_secs: queue.dedup_ttl.as_secs().max(1),
            min_replicas: opts.min_replicas,
        };
        Pusher {
            conns,
            keys: Arc::new(keys),
        }
    }

    pub(super) fn conn(&self, lane: Lane) -> ConnectionManager {
        self.conns[lane].clone()
    }

    pub(super) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Pushes `jobs` into `lane` with one script call, each claiming its key unless a job
    /// claimed it before; with replicas required, confirms once they have it all or fails by
    /// `deadline`. Answers per job, in order.
    pub async fn push(
        &self,
        lane: Lane,
        jobs: &[NewJob<'_>],
        deadline: Instant,
    ) -> Result<Vec<Pushed>, PushError> {
        self.push_waiting(lane, jobs, None, self.keys.min_replicas, deadline)
            .await
    }

    /// As [`push`](Self::push) for jobs already encoded, each `(bytes, dedup key)`, due now and
    /// under fresh ids: what bulk loaders (the backlog tool, tests) push.
    pub async fn push_encoded(
        &self,
        lane: Lane,
        encoded: &[(Vec<u8>, Option<String>)],
        deadline: Instant,
    ) -> Result<Vec<Pushed>, PushError> {
        let run_at = super::due_at(None);
        let jobs: Vec<NewJob> = encoded
            .iter()
            .map(|(bytes, key)| NewJob {
                id: Ulid::generate(),
                bytes,
                key: key.as_deref(),
                run_at,
                order: None,
            })
            .collect();
        self.push(lane, &jobs, deadline).await
    }

    /// Puts `job` back in `lane` under a new id and no key, due after `delay` (whole seconds,
    /// rounded up: apalis-redis schedules by the second); answers the new id. Never waits for
    /// replicas: nobody is told "queued" on the strength of it.
    pub async fn requeue(
        &self,
        lane: Lane,
        job: &impl serde::Serialize,
        delay: Duration,
    ) -> Result<String, PushError> {
        self.requeue_ordered(lane, job, delay, None).await
    }

    /// As [`requeue`](Self::requeue), keeping the job's place in its key's order
    /// ([`Order::Keep`]: it waits in its lane's ordered due set and runs at the front of the lane
    /// once due) or taking the key's next one ([`Order::Assign`]: a replayed dead letter runs
    /// after the key's current work).
    pub async fn requeue_ordered(
        &self,
        lane: Lane,
        job: &impl serde::Serialize,
        delay: Duration,
        order: Option<Order<'_>>,
    ) -> Result<String, PushError> {
        let bytes = serde_json::to_vec(job).map_err(|e| PushError::Encode(e.to_string()))?;
        // Checked: a delay past the clock's range must not panic the lane (the retry policy
        // clamps delays, but this is the one place a Duration meets the wall clock).
        let now = SystemTime::now();
        let at = now.checked_add(delay.min(MAX_DELAY)).unwrap_or(now);
        let job = NewJob {
            id: Ulid::generate(),
            bytes: &bytes,
            key: None,
            run_at: run_at_secs(at),
            order,
        };
        // A job that keeps its place holds its key while it waits: when due it goes to the front
        // of its lane (`order::due_set_in`, moved by the worker's promoter), not behind the
        // lane's whole backlog, so a failing update holds its key for about its max hold.
        let waits_in = match order {
            Some(Order::Keep(..)) => Some(due_set_in(&self.keys.order_ns, lane)),
            _ => None,
        };
        self.push_waiting(lane, &[job], waits_in, 0, Instant::now())
            .await?;
        Ok(job.id.to_string())
    }

    /// `waits_in`: the set the jobs wait in until due, apalis's scheduled set unless named.
    async fn push_waiting(
        &self,
        lane: Lane,
        jobs: &[NewJob<'_>],
        waits_in: Option<String>,
        min_replicas: u32,
        deadline: Instant,
    ) -> Result<Vec<Pushed>, PushError> {
        let (keys, config) = (&*self.keys, &self.keys.lanes[lane]);
        let mut call = ScriptCall::new(&PUSH, min_replicas, 3);
        call.cmd
            .arg(config.job_data_hash())
            .arg(config.job_meta_hash())
            .arg(waits_in.unwrap_or_else(|| config.scheduled_jobs_set()))
            .arg(keys.ttl_secs)
            .arg(&keys.namespace)
            .arg(match keys.legacy.is_empty() {
                // This lane's own apalis-redis idempotency set, written for older replicas.
                false => config.idempotency_key_set(),
                true => String::new(),
            })
            .arg(u8::from(min_replicas > 0))
            .arg(&keys.order_ns)
            .arg(keys.legacy.len())
            .arg(&keys.legacy);
        for job in jobs {
            call.cmd
                .arg(job.id.to_string())
                .arg(job.bytes)
                .arg(job.run_at)
                .arg(job.key.unwrap_or_default());
            match job.order {
                None => call.cmd.arg("").arg(0),
                Some(Order::Assign(key)) => call.cmd.arg(key).arg(0),
                Some(Order::Keep(key, seq)) => call.cmd.arg(key).arg(seq),
            };
        }
        let mut conn = self.conn(lane);
        let wait = wait_within(deadline);
        let queued: Vec<i64> = call.run(&mut conn, min_replicas, wait).await?;
        if queued.len() != jobs.len() {
            return Err(PushError::Redis(format!(
                "the push script answered for {} of {} jobs",
                queued.len(),
                jobs.len()
            )));
        }
        Ok(queued
            .into_iter()
            .map(|q| match q {
                1 => Pushed::Queued,
                _ => Pushed::Duplicate,
            })
            .collect())
    }

    /// Whether a job claimed `key` before, in any lane; with replicas required, only once they
    /// have acknowledged everything up to that job (or fails by `deadline`).
    pub async fn known(&self, key: &str, deadline: Instant) -> Result<bool, PushError> {
        let keys = &*self.keys;
        let mut call = ScriptCall::new(&KNOWN, keys.min_replicas, 0);
        call.cmd
            .arg(key)
            .arg(u8::from(keys.min_replicas > 0))
            .arg(&keys.namespace)
            .arg(&keys.legacy);
        // The normal lane's connection, as good as any: the check writes no job.
        let mut conn = self.conn(Lane::Normal);
        call.run(&mut conn, keys.min_replicas, wait_within(deadline))
            .await
    }
}
