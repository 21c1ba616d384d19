//! One job, start to finish: wait for the lane's share of capacity, write the row, run the
//! handler, then acknowledge, retry later, or park in the dead letters.

use std::{
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use apalis::prelude::{BoxDynError, Data, TaskId, WorkerContext};
use futures::FutureExt;
use sluice_shared::{envelope::UpdateEnvelope, metrics as m};

use crate::{
    backoff::Backoff,
    dlq::{DeadLetter, DeadLetters},
    handler::{HandlerContext, HandlerError, Update, UpdateHandler},
    requeue::Requeue,
    retry::{Decision, RetryPolicy},
    rows::{RIDE_OUT, RowWriter},
    scheduler::LaneScheduler,
};

/// Everything a job needs, shared by all jobs of the process.
pub struct Runtime<H> {
    pub handler: H,
    pub ctx: HandlerContext,
    pub rows: RowWriter,
    pub scheduler: LaneScheduler,
    pub policy: RetryPolicy,
    pub requeue: Requeue,
    pub dead: DeadLetters,
}

/// The apalis job function. It answers `Ok` once the update is settled (done, re-queued or dead);
/// an `Err` means settling failed (Redis down) and leaves the job to apalis's own retry.
pub async fn run<H: UpdateHandler>(
    env: UpdateEnvelope,
    task_id: TaskId,
    worker: WorkerContext,
    rt: Data<Arc<Runtime<H>>>,
) -> Result<(), BoxDynError> {
    let _permit = rt.scheduler.acquire(env.lane).await;
    let lane = env.lane.as_str();
    let waited_ms = (chrono::Utc::now().timestamp_millis() - env.received_at_ms).max(0);
    metrics::histogram!(m::JOB_WAIT_SECONDS, m::LABEL_LANE => lane)
        .record(waited_ms as f64 / 1000.0);
    let started = Instant::now();
    let job_id = task_id.to_string();
    let env = Arc::new(env);
    let attempt = AssertUnwindSafe(execute(&rt, env.clone(), &job_id, &worker));
    let result = attempt
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(HandlerError::permanent("the handler panicked")));
    metrics::histogram!(m::JOB_DURATION_SECONDS, m::LABEL_LANE => lane)
        .record(started.elapsed().as_secs_f64());
    let outcome = match result {
        Ok(()) => "done",
        Err(e) => settle_failure(&rt, &env, &job_id, e).await?,
    };
    metrics::counter!(m::JOBS_TOTAL, m::LABEL_LANE => lane, m::LABEL_OUTCOME => outcome)
        .increment(1);
    Ok(())
}

/// The row first (the update is safe whatever the handler does), then the handler.
async fn execute<H: UpdateHandler>(
    rt: &Runtime<H>,
    env: Arc<UpdateEnvelope>,
    job_id: &str,
    worker: &WorkerContext,
) -> Result<(), HandlerError> {
    write_row(rt, env.clone(), job_id, worker).await?;
    rt.handler
        .handle(&rt.ctx, &Update::new(&env, job_id.to_owned()))
        .await
}

/// Rides out a brief database outage (up to [`RIDE_OUT`]) before the attempt counts as failed.
async fn write_row<H>(
    rt: &Runtime<H>,
    env: Arc<UpdateEnvelope>,
    job_id: &str,
    worker: &WorkerContext,
) -> Result<(), HandlerError> {
    let started = Instant::now();
    let job_id: Arc<str> = Arc::from(job_id);
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        match rt.rows.write(env.clone(), job_id.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if !worker.is_shutting_down() && started.elapsed() < RIDE_OUT => {
                metrics::counter!(m::DB_RETRIES_TOTAL).increment(1);
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, bot = %env.bot, update_id = env.update_id, ?wait, "storing the update failed; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(HandlerError::transient(format!("storing the update: {e}"))),
        }
    }
}

async fn settle_failure<H>(
    rt: &Runtime<H>,
    env: &UpdateEnvelope,
    job_id: &str,
    error: HandlerError,
) -> Result<&'static str, BoxDynError> {
    match rt.policy.decide(env.attempt, &error) {
        Decision::Retry {
            delay,
            next_attempt,
        } => {
            let mut next = env.clone();
            next.attempt = next_attempt;
            let new_id = rt.requeue.push(&next, delay).await?;
            tracing::info!(%error, bot = %env.bot, update_id = env.update_id, attempt = next_attempt, ?delay, job = %new_id, "job failed; retrying later");
            Ok("retried")
        }
        Decision::Dead { reason } => {
            let letter = DeadLetter {
                id: job_id.to_owned(),
                reason: reason.clone(),
                dead_at_ms: chrono::Utc::now().timestamp_millis(),
                envelope: env.clone(),
            };
            rt.dead.put(&letter).await?;
            tracing::warn!(%reason, bot = %env.bot, update_id = env.update_id, job = %job_id, "job moved to the dead letters");
            Ok("dead")
        }
    }
}
