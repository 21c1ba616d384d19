//! The durable enqueue: one job into its lane's apalis-redis queue, deduplicated on its key
//! ((bot, update_id) for Telegram, (source, idempotency key) for signed events), within a time
//! budget.
//!
//! Concurrent requests of a lane are coalesced into one call of apalis-redis's batch-push script
//! (`sluice_shared::coalesce`): under load one round trip and one script run serve many
//! deliveries, and a lone delivery is pushed at once. The script reports only how many tasks it
//! queued; when that is fewer than the batch, the idempotency keys say which tasks were
//! duplicates (each key holds the id of the task that claimed it).

use std::time::{Duration, Instant, SystemTime};

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use redis::aio::ConnectionManager;
use sluice_shared::{
    coalesce,
    job::Queued,
    lanes::Lane,
    metrics as m,
    queue::{QueueConfig, lane_config, run_at_secs},
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
    #[error("redis refused the enqueue: {0}")]
    Redis(String),
    #[error("could not encode the job: {0}")]
    Encode(#[from] serde_json::Error),
}

impl EnqueueError {
    fn reason(&self) -> &'static str {
        match self {
            EnqueueError::Timeout(_) => "timeout",
            EnqueueError::Redis(_) => "redis",
            EnqueueError::Encode(_) => "encode",
        }
    }
}

type Reply = oneshot::Sender<Result<Enqueued, String>>;

/// One delivery waiting for its lane's next batch.
struct Pending {
    job_id: Ulid,
    /// Unix seconds the job is due at (delayed admission); `None`: now.
    run_at: Option<u64>,
    key: String,
    bytes: Vec<u8>,
    reply: Reply,
}

/// Sends each delivery to its lane's batcher; cheap to clone.
#[derive(Clone)]
pub struct Enqueuer {
    lanes: [mpsc::Sender<Pending>; 3],
    budget: Duration,
}

impl Enqueuer {
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        queue: &QueueConfig,
        budget: Duration,
    ) -> Self {
        let lanes = Lane::ALL.map(|lane| {
            let (conn, config) = (conn.clone(), lane_config(prefix, lane, queue));
            coalesce::spawn(MAX_BATCH, PARALLEL, move |batch| {
                push(conn.clone(), config.clone(), batch)
            })
        });
        Enqueuer { lanes, budget }
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
        let result = match tokio::time::timeout(self.budget, self.submit(job, run_at)).await {
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

    async fn submit<J: Queued + Sync>(
        &self,
        job: &J,
        run_at: Option<SystemTime>,
    ) -> Result<Enqueued, EnqueueError> {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            job_id: Ulid::generate(),
            run_at: run_at.map(run_at_secs),
            key: job.dedup_key(),
            bytes: serde_json::to_vec(job)?,
            reply,
        };
        let lane = Lane::ALL.iter().position(|l| *l == job.lane()).unwrap_or(1);
        let gone = || EnqueueError::Redis("the enqueue batcher stopped".into());
        self.lanes[lane].send(pending).await.map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(EnqueueError::Redis)
    }
}

/// Pushes a batch with one script call and tells every waiting delivery what became of it.
async fn push(mut conn: ConnectionManager, config: apalis_redis::Config, batch: Vec<Pending>) {
    let (tasks, waiting): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|p| {
            let mut task = TaskBuilder::new(p.bytes)
                .task_id(TaskId::from_ulid(p.job_id))
                .idempotency_key(&p.key);
            if let Some(at) = p.run_at {
                task = task.run_at_timestamp(at);
            }
            let task = task.build();
            (task, (p.job_id, p.key, p.reply))
        })
        .unzip();
    let outcome = match apalis_redis::queries::push_tasks(&mut conn, &config, &tasks).await {
        Err(e) => Err(e.to_string()),
        Ok((queued, scheduled)) if (queued + scheduled) as usize == tasks.len() => Ok(None),
        Ok(_) => claimed_by(&mut conn, &config, &waiting).await.map(Some),
    };
    for (i, (job_id, _, reply)) in waiting.into_iter().enumerate() {
        let answer = match &outcome {
            Err(e) => Err(e.clone()),
            Ok(None) => Ok(Enqueued::New {
                job_id: job_id.to_string(),
            }),
            Ok(Some(owners)) if owners[i].as_deref() == Some(job_id.to_string().as_str()) => {
                Ok(Enqueued::New {
                    job_id: job_id.to_string(),
                })
            }
            Ok(Some(_)) => Ok(Enqueued::Duplicate),
        };
        let _ = reply.send(answer);
    }
}

/// Which task id holds each delivery's idempotency key (only read when a batch had duplicates).
async fn claimed_by(
    conn: &mut ConnectionManager,
    config: &apalis_redis::Config,
    waiting: &[(Ulid, String, Reply)],
) -> Result<Vec<Option<String>>, String> {
    let set = config.idempotency_key_set();
    let keys: Vec<String> = waiting
        .iter()
        .map(|(_, key, _)| format!("{set}:{key}"))
        .collect();
    redis::cmd("MGET")
        .arg(keys)
        .query_async(conn)
        .await
        .map_err(|e| e.to_string())
}
