//! The job handler: one queued job becomes one row — a Telegram update in `updates`, a signed
//! event in `events` — acknowledged only after commit.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use apalis::prelude::{BoxDynError, Data, TaskId, WorkerContext};
use sluice_shared::{job::Job, metrics as m};
use sqlx::PgPool;

use crate::{backoff::Backoff, store};

/// What every job needs, shared by all lanes of the process.
#[derive(Clone)]
pub struct Deps {
    pub db: PgPool,
    /// How long one attempt keeps retrying a failing database before handing the job back to
    /// the queue (which schedules another attempt later).
    pub retry_window: Duration,
}

pub async fn handle(
    job: Job,
    task_id: TaskId,
    worker: WorkerContext,
    deps: Data<Arc<Deps>>,
) -> Result<(), BoxDynError> {
    let lane = job.lane().as_str();
    let waited_ms = (chrono::Utc::now().timestamp_millis() - job.received_at_ms()).max(0);
    metrics::histogram!(m::JOB_WAIT_SECONDS, m::LABEL_LANE => lane)
        .record(waited_ms as f64 / 1000.0);
    let started = Instant::now();
    // A panic must fail this job, not the lane's consumer (apalis's catch_panic layer does not
    // compose with a spawned worker, so the unwind is caught here).
    let job_id = task_id.to_string();
    let job = std::panic::AssertUnwindSafe(store_with_retry(&job, &job_id, &worker, &deps));
    let result: Result<(), BoxDynError> = match futures::FutureExt::catch_unwind(job).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err("the job handler panicked".into()),
    };
    metrics::histogram!(m::JOB_DURATION_SECONDS, m::LABEL_LANE => lane)
        .record(started.elapsed().as_secs_f64());
    let outcome = if result.is_ok() { "done" } else { "retried" };
    metrics::counter!(m::JOBS_TOTAL, m::LABEL_LANE => lane, m::LABEL_OUTCOME => outcome)
        .increment(1);
    result
}

/// Inserts the row, riding out a brief Postgres outage with exponential backoff.
async fn store_with_retry(
    job: &Job,
    job_id: &str,
    worker: &WorkerContext,
    deps: &Deps,
) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        let stored = match job {
            Job::Telegram(env) => store::insert_update(&deps.db, env, job_id).await,
            Job::Signed(env) => store::insert_event(&deps.db, env, job_id).await,
        };
        match stored {
            Ok(_) => return Ok(()),
            Err(e) if !worker.is_shutting_down() && started.elapsed() < deps.retry_window => {
                metrics::counter!(m::DB_RETRIES_TOTAL).increment(1);
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, job = %describe(job), ?wait, "storing the job failed; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, job = %describe(job), "storing the job failed; handing it back to the queue");
                return Err(e);
            }
        }
    }
}

/// What a log line names a job by: bot and update_id, or source and idempotency key.
fn describe(job: &Job) -> String {
    match job {
        Job::Telegram(u) => format!("telegram {}/{}", u.bot, u.update_id),
        Job::Signed(e) => format!("source {}/{}", e.source, e.idempotency_key),
    }
}
