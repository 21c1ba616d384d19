//! The durable enqueue: one job into its lane's apalis-redis queue, at most once per delivery
//! ((bot, update_id) for Telegram, (source, idempotency key) for signed events) across all lanes,
//! within a time budget, and optionally only once replicas have it.
//!
//! The push itself (its script, the dedup claims, the `WAIT` for replicas) is
//! `sluice_shared::queue::Pusher`'s, shared with the worker and the tools; this module adds the
//! api's budget, its metrics and the batching of concurrent deliveries. Concurrent requests of a
//! lane are coalesced into one push (`sluice_shared::coalesce`): under load one round trip and
//! one script run serve many deliveries, and a lone delivery is pushed at once.

use std::time::{Duration, Instant, SystemTime};

use redis::aio::ConnectionManager;
use sluice_console::service::lanes::Arrivals;
use sluice_shared::{
    coalesce,
    job::Queued,
    lanes::{Lane, PerLane},
    metrics as m,
    queue::{
        NewJob, PushError, PushOptions, Pushed, Pusher, QueueConfig, due_at,
        order::{Order, Ordering},
    },
};
use tokio::sync::{mpsc, oneshot};
use ulid::Ulid;

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
    Failed(#[from] PushError),
    #[error("the enqueue batcher stopped")]
    Stopped,
    #[error("could not encode the job: {0}")]
    Encode(#[from] serde_json::Error),
}

impl EnqueueError {
    fn reason(&self) -> &'static str {
        match self {
            EnqueueError::Timeout(_) => "timeout",
            EnqueueError::Failed(PushError::Redis(_)) | EnqueueError::Stopped => "redis",
            EnqueueError::Failed(PushError::Replicas { .. }) => "replicas",
            EnqueueError::Failed(PushError::Encode(_)) | EnqueueError::Encode(_) => "encode",
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
    /// What jobs are processed in order by (`SLUICE_ORDERING`).
    pub ordering: Ordering,
}

type Reply = oneshot::Sender<Result<Enqueued, PushError>>;

/// One delivery waiting for its lane's next batch.
struct Pending {
    job_id: Ulid,
    /// Unix seconds the job is due at (now, or later for delayed admission).
    run_at: u64,
    key: String,
    /// The key it is processed in order with; the enqueue script gives it the key's next place.
    order: Option<String>,
    bytes: Vec<u8>,
    /// When the delivery's budget runs out: the replicas' `WAIT` must end before it.
    deadline: Instant,
    reply: Reply,
}

/// Sends each delivery to its lane's batcher; cheap to clone.
#[derive(Clone)]
pub struct Enqueuer {
    lanes: PerLane<mpsc::Sender<Pending>>,
    /// For the refusal path's duplicate check.
    pusher: Pusher,
    budget: Duration,
    ordering: Ordering,
}

impl Enqueuer {
    /// As [`Enqueuer::new`], counting the jobs queued per lane into `arrivals` (the console's
    /// in-rates).
    pub fn counting(
        conns: PerLane<ConnectionManager>,
        prefix: &str,
        queue: &QueueConfig,
        settings: &EnqueueSettings,
        arrivals: Arrivals,
    ) -> Self {
        Self::build(conns, prefix, queue, settings, arrivals)
    }

    /// `conns`: the Redis connection of each lane, the same one cloned or, when pushes wait for
    /// replicas, one each, so that one lane's `WAIT` does not hold the other lanes' pushes behind
    /// it on a shared connection.
    pub fn new(
        conns: PerLane<ConnectionManager>,
        prefix: &str,
        queue: &QueueConfig,
        settings: &EnqueueSettings,
    ) -> Self {
        Self::build(conns, prefix, queue, settings, Arrivals::default())
    }

    fn build(
        conns: PerLane<ConnectionManager>,
        prefix: &str,
        queue: &QueueConfig,
        settings: &EnqueueSettings,
        arrivals: Arrivals,
    ) -> Self {
        let options = PushOptions {
            lane_keys: settings.lane_keys,
            min_replicas: settings.min_replicas,
        };
        let pusher = Pusher::with_lane_connections(conns, prefix, queue, options);
        let lanes = PerLane::from_fn(|lane| {
            let (pusher, arrivals) = (pusher.clone(), arrivals.clone());
            coalesce::spawn(MAX_BATCH, PARALLEL, move |batch| {
                flush(pusher.clone(), lane, batch, arrivals.clone())
            })
        });
        Enqueuer {
            lanes,
            pusher,
            budget: settings.budget,
            ordering: settings.ordering,
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
        let key = job.dedup_key();
        let check = self.pusher.known(&key, Instant::now() + self.budget);
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
            run_at: due_at(run_at),
            key: job.dedup_key(),
            order: job.order_key(self.ordering),
            bytes: serde_json::to_vec(job)?,
            deadline: started + self.budget,
            reply,
        };
        self.lanes[job.lane()]
            .send(pending)
            .await
            .map_err(|_| EnqueueError::Stopped)?;
        Ok(answer.await.map_err(|_| EnqueueError::Stopped)??)
    }
}

/// Pushes a batch with one script call and tells every waiting delivery what became of it.
async fn flush(pusher: Pusher, lane: Lane, batch: Vec<Pending>, arrivals: Arrivals) {
    let jobs: Vec<NewJob> = batch
        .iter()
        .map(|p| NewJob {
            id: p.job_id,
            bytes: &p.bytes,
            key: Some(&p.key),
            run_at: p.run_at,
            order: p.order.as_deref().map(Order::Assign),
        })
        .collect();
    // The earliest deadline of the batch bounds the WAIT: nobody's answer comes too late.
    let deadline = batch.iter().map(|p| p.deadline).min();
    let outcome = pusher
        .push(lane, &jobs, deadline.unwrap_or_else(Instant::now))
        .await;
    drop(jobs);
    if let Ok(pushed) = &outcome {
        let queued = pushed.iter().filter(|p| **p == Pushed::Queued).count();
        arrivals.record(lane, queued as u64);
    }
    for (i, p) in batch.into_iter().enumerate() {
        let answer = match &outcome {
            Err(e) => Err(e.clone()),
            Ok(pushed) if pushed.get(i) == Some(&Pushed::Queued) => Ok(Enqueued::New {
                job_id: p.job_id.to_string(),
            }),
            Ok(_) => Ok(Enqueued::Duplicate),
        };
        let _ = p.reply.send(answer);
    }
}
