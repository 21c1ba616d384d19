//! Puts an update back in its lane's queue: a retry after a delay, or a dead letter replayed.
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
        let run_at = run_at_secs(SystemTime::now() + delay);
        let bytes = serde_json::to_vec(job).map_err(apalis_redis::Error::Json)?;
        let task = TaskBuilder::new(bytes)
            .task_id(TaskId::from_ulid(job_id))
            .run_at_timestamp(run_at)
            .build();
        let config = &self.lanes[Lane::ALL.iter().position(|l| *l == job.lane()).unwrap_or(1)];
        let mut conn = self.conn.clone();
        apalis_redis::queries::push_tasks(&mut conn, config, &[task]).await?;
        Ok(job_id.to_string())
    }
}
