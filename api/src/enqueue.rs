//! The durable enqueue: one update into its lane's apalis-redis queue, deduplicated on
//! (bot, update_id), within a time budget.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use redis::aio::ConnectionManager;
use sluice_shared::{
    envelope::UpdateEnvelope,
    lanes::Lane,
    metrics as m,
    queue::{QueueConfig, lane_config},
};
use ulid::Ulid;

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
    Redis(#[from] apalis_redis::Error),
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

/// Holds one multiplexed Redis connection and the queue configuration of every lane.
#[derive(Clone)]
pub struct Enqueuer {
    conn: ConnectionManager,
    lanes: [apalis_redis::Config; 3],
    budget: Duration,
}

impl Enqueuer {
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        queue: &QueueConfig,
        budget: Duration,
    ) -> Self {
        let lanes = Lane::ALL.map(|lane| lane_config(prefix, lane, queue));
        Enqueuer {
            conn,
            lanes,
            budget,
        }
    }

    fn config(&self, lane: Lane) -> &apalis_redis::Config {
        match lane {
            Lane::High => &self.lanes[0],
            Lane::Normal => &self.lanes[1],
            Lane::Low => &self.lanes[2],
        }
    }

    /// Queues `env` and returns only once Redis has confirmed it, or fails within the budget.
    pub async fn enqueue(&self, env: &UpdateEnvelope) -> Result<Enqueued, EnqueueError> {
        self.enqueue_at(env, None).await
    }

    /// As [`enqueue`](Self::enqueue), the job due at `run_at` (`None`: now). apalis-redis keeps
    /// run times in whole seconds, so `run_at` is rounded up: a delayed job never runs early.
    pub async fn enqueue_at(
        &self,
        env: &UpdateEnvelope,
        run_at: Option<SystemTime>,
    ) -> Result<Enqueued, EnqueueError> {
        let started = Instant::now();
        let result = tokio::time::timeout(self.budget, self.push(env, run_at))
            .await
            .unwrap_or(Err(EnqueueError::Timeout(self.budget)));
        let lane = env.lane.as_str();
        metrics::histogram!(m::ENQUEUE_DURATION_SECONDS, m::LABEL_LANE => lane)
            .record(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            metrics::counter!(m::ENQUEUE_FAILURES_TOTAL, m::LABEL_REASON => e.reason())
                .increment(1);
        }
        result
    }

    async fn push(
        &self,
        env: &UpdateEnvelope,
        run_at: Option<SystemTime>,
    ) -> Result<Enqueued, EnqueueError> {
        let job_id = Ulid::generate();
        let mut task = TaskBuilder::new(serde_json::to_vec(env)?)
            .task_id(TaskId::from_ulid(job_id))
            .idempotency_key(env.idempotency_key());
        if let Some(at) = run_at {
            task = task.run_at_timestamp(unix_secs_rounded_up(at));
        }
        let task = task.build();
        let mut conn = self.conn.clone();
        let (queued, scheduled) =
            apalis_redis::queries::push_tasks(&mut conn, self.config(env.lane), &[task]).await?;
        // The batch script answers (0, 0) when the idempotency key was already claimed.
        if queued + scheduled == 0 {
            Ok(Enqueued::Duplicate)
        } else {
            Ok(Enqueued::New {
                job_id: job_id.to_string(),
            })
        }
    }
}

fn unix_secs_rounded_up(at: SystemTime) -> u64 {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
