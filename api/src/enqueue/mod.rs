//! The durable enqueue: one job into its lane's apalis-redis queue, at most once per delivery
//! ((bot, update_id) for Telegram, (source, idempotency key) for signed events) across all lanes,
//! within a time budget, and optionally only once replicas have it.
//!
//! # Layout
//! - this file: the [`Enqueuer`], its budget, and the batching of concurrent deliveries.
//! - [`push`]: the scripts (`push.lua`, `known.lua`) and the `WAIT` for replicas.
//!
//! Concurrent requests of a lane are coalesced into one call of our push script
//! (`sluice_shared::coalesce`): under load one round trip and one script run serve many
//! deliveries, and a lone delivery is pushed at once. The script claims each delivery's key in
//! one namespace for every lane (`sluice_shared::queue::dedup_namespace`), so a redelivery that
//! a lane-rule change sends to another lane is still a duplicate; apalis-redis's own push keys
//! claims per lane and could not see that.

mod push;

use std::{
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use redis::aio::ConnectionManager;
use sluice_shared::{
    coalesce,
    job::Queued,
    lanes::Lane,
    metrics as m,
    queue::{QueueConfig, run_at_secs},
};
use tokio::sync::{mpsc, oneshot};
use ulid::Ulid;

pub use push::Failure;
use push::{JobArgs, Keys};

/// Deliveries pushed by one script call at most.
const MAX_BATCH: usize = 64;
/// Script calls in flight per lane (the connection pipelines them).
const PARALLEL: usize = 4;

/// What Redis confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job, durably queued.
    New { job_id: String },
    /// The same (bot, update_id) was queued before: no second job was made.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    /// Past the budget the command may still land when Redis resumes: "maybe queued". The
    /// sender's retry is safe because the idempotency key makes it a duplicate.
    #[error("enqueue did not finish within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Failed(#[from] Failure),
    #[error("the enqueue batcher stopped")]
    Stopped,
    #[error("could not encode the job: {0}")]
    Encode(#[from] serde_json::Error),
}

impl EnqueueError {
    fn reason(&self) -> &'static str {
        match self {
            EnqueueError::Timeout(_) => "timeout",
            EnqueueError::Failed(Failure::Redis(_)) | EnqueueError::Stopped => "redis",
            EnqueueError::Failed(Failure::Replicas { .. }) => "replicas",
            EnqueueError::Encode(_) => "encode",
        }
    }
}

/// How the enqueue behaves; from the api's settings.
#[derive(Debug, Clone)]
pub struct EnqueueSettings {
    /// Time budget of one enqueue, the replicas' `WAIT` included.
    pub budget: Duration,
    /// Also claim (and check) apalis-redis's per-lane keys, so api replicas of the previous
    /// release agree with this one during a rolling deploy (`SLUICE_DEDUP_LANE_KEYS`).
    pub lane_keys: bool,
    /// Replicas that must have a job before it is acknowledged (`SLUICE_ENQUEUE_MIN_REPLICAS`).
    pub min_replicas: u32,
}

type Reply = oneshot::Sender<Result<Enqueued, Failure>>;

/// One delivery waiting for its lane's next batch.
struct Pending {
    job_id: Ulid,
    /// Unix seconds the job is due at (now, or later for delayed admission).
    run_at: u64,
    key: String,
    bytes: Vec<u8>,
    /// When the delivery's budget runs out: the replicas' `WAIT` must end before it.
    deadline: Instant,
    reply: Reply,
}

/// Sends each delivery to its lane's batcher; cheap to clone.
#[derive(Clone)]
pub struct Enqueuer {
    lanes: [mpsc::Sender<Pending>; 3],
    /// The shared namespace's keys, for the refusal path's duplicate check.
    keys: Keys,
    conn: ConnectionManager,
    budget: Duration,
}

impl Enqueuer {
    /// `conns`: the Redis connection of each lane (`Lane::ALL` order), the same one cloned or,
    /// when pushes wait for replicas, one each, so that one lane's `WAIT` does not hold the other
    /// lanes' pushes behind it on a shared connection.
    pub fn new(
        conns: [ConnectionManager; 3],
        prefix: &str,
        queue: &QueueConfig,
        settings: &EnqueueSettings,
    ) -> Self {
        let keys_of = |lane| {
            Keys::new(
                prefix,
                lane,
                queue,
                settings.lane_keys,
                settings.min_replicas,
            )
        };
        let conn = conns[1].clone();
        let lanes = std::array::from_fn(|i| {
            let (lane, conn) = (Lane::ALL[i], conns[i].clone());
            // Shared by every flush of the lane: no key names rebuilt per batch.
            let keys = Arc::new(keys_of(lane));
            coalesce::spawn(MAX_BATCH, PARALLEL, move |batch| {
                flush(conn.clone(), keys.clone(), batch)
            })
        });
        Enqueuer {
            lanes,
            keys: keys_of(Lane::Normal),
            conn,
            budget: settings.budget,
        }
    }

    /// Queues `job` and returns only once Redis has confirmed it, or fails within the budget.
    pub async fn enqueue<J: Queued + Sync>(&self, job: &J) -> Result<Enqueued, EnqueueError> {
        self.enqueue_at(job, None).await
    }

    /// As [`enqueue`](Self::enqueue), the job due at `run_at` (`None`: now). apalis-redis keeps
    /// run times in whole seconds, so `run_at` is rounded up: a delayed job never runs early.
    pub async fn enqueue_at<J: Queued + Sync>(
        &self,
        job: &J,
        run_at: Option<SystemTime>,
    ) -> Result<Enqueued, EnqueueError> {
        let started = Instant::now();
        let result =
            match tokio::time::timeout(self.budget, self.submit(job, run_at, started)).await {
                Ok(r) => r,
                Err(_) => Err(EnqueueError::Timeout(self.budget)),
            };
        let lane = job.lane().as_str();
        metrics::histogram!(m::ENQUEUE_DURATION_SECONDS, m::LABEL_LANE => lane)
            .record(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            metrics::counter!(m::ENQUEUE_FAILURES_TOTAL, m::LABEL_REASON => e.reason())
                .increment(1);
        }
        result
    }

    /// Whether `job` was queued before, in any lane (and, with replicas required, they have it).
    /// For the refusal path only: a redelivery must be answered "duplicate" whatever the limits
    /// say, and asking Redis only once a delivery is refused keeps the fast path as it was. Any
    /// failure or a spent budget is "not known", so the refusal stands.
    pub async fn is_known<J: Queued + Sync>(&self, job: &J) -> bool {
        let mut conn = self.conn.clone();
        let wait = wait_within(Instant::now() + self.budget);
        let key = job.dedup_key();
        let check = push::known(&mut conn, &self.keys, &key, wait);
        matches!(tokio::time::timeout(self.budget, check).await, Ok(Ok(true)))
    }

    async fn submit<J: Queued + Sync>(
        &self,
        job: &J,
        run_at: Option<SystemTime>,
        started: Instant,
    ) -> Result<Enqueued, EnqueueError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            job_id: Ulid::generate(),
            // Due now is the current Unix second rounded down, as apalis-redis's own push writes
            // it: rounded up, every job would wait for the next second before a worker saw it.
            run_at: match run_at {
                Some(at) => run_at_secs(at),
                None => SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs(),
            },
            key: job.dedup_key(),
            bytes: serde_json::to_vec(job)?,
            deadline: started + self.budget,
            reply,
        };
        let lane = job.lane().index();
        self.lanes[lane]
            .send(pending)
            .await
            .map_err(|_| EnqueueError::Stopped)?;
        Ok(answer.await.map_err(|_| EnqueueError::Stopped)??)
    }
}

/// What a `WAIT` leaves of the budget for its answer: Redis notices a blocked client's timeout
/// on its cron (hz 10 by default), up to 100 ms late.
const WAIT_SLACK: Duration = Duration::from_millis(110);

/// How long a `WAIT` may block so that its answer still arrives before `deadline`.
fn wait_within(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .saturating_sub(WAIT_SLACK)
}

/// Pushes a batch with one script call and tells every waiting delivery what became of it.
async fn flush(mut conn: ConnectionManager, keys: Arc<Keys>, batch: Vec<Pending>) {
    let jobs: Vec<JobArgs> = batch
        .iter()
        .map(|p| JobArgs {
            id: p.job_id.to_string(),
            bytes: &p.bytes,
            run_at: p.run_at,
            key: &p.key,
        })
        .collect();
    // The earliest deadline of the batch bounds the WAIT: nobody's answer comes too late.
    let deadline = batch.iter().map(|p| p.deadline).min();
    let wait = deadline.map_or(Duration::ZERO, wait_within);
    let outcome = push::push(&mut conn, &keys, &jobs, wait).await;
    drop(jobs);
    for (i, p) in batch.into_iter().enumerate() {
        let answer = match &outcome {
            Err(e) => Err(e.clone()),
            Ok(queued) if queued.get(i) == Some(&true) => Ok(Enqueued::New {
                job_id: p.job_id.to_string(),
            }),
            Ok(_) => Ok(Enqueued::Duplicate),
        };
        let _ = p.reply.send(answer);
    }
}
