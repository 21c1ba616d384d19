//! Admission control as both webhook routes apply it: the verdict, the enqueue it allows (now or
//! delayed), and the count of what was decided.

use sluice_console::service::admission::Refused;
use sluice_shared::{job::Queued, metrics as m};
use tracing::{Instrument as _, field::Empty};

use crate::{
    admission::{Subject, Verdict, policy::Limit, retry_after_secs},
    enqueue::Enqueued,
    error::ApiError,
    state::AppState,
};

/// What became of a delivery that gets a 2xx.
pub enum Taken {
    Queued(Enqueued),
    /// Over a limit whose policy is `drop`: counted, not queued.
    Dropped,
}

/// Admits `job` for `subject` and enqueues it (scheduled later for a delay); a refusal is the
/// 429/503 with its `Retry-After`, a failed enqueue a 503 `retry`. A delivery queued before is a
/// duplicate whatever the limits say: Telegram would otherwise re-send a stored update until its
/// chat's bucket refills.
pub async fn admit<J: Queued + Sync>(
    app: &AppState,
    subject: &Subject<'_>,
    job: &J,
) -> Result<Taken, ApiError> {
    let lane = job.lane();
    let verdict = app
        .admission
        .admit(subject)
        .instrument(tracing::debug_span!(
            "admission",
            bot = subject.bot,
            lane = lane.as_str()
        ))
        .await;
    let run_at = match verdict {
        Verdict::Admit => None,
        Verdict::Delay { until } => Some(until),
        Verdict::Drop(_) => return Ok(counted(app, subject, &verdict, Taken::Dropped)),
        Verdict::Reject { limit, wait } => {
            return refuse(app, subject, job, &verdict, || ApiError::RateLimited {
                limit,
                retry_after: retry_after_secs(wait),
            })
            .await;
        }
        Verdict::Shed { wait } => {
            return refuse(app, subject, job, &verdict, || ApiError::Shed {
                lane,
                retry_after: retry_after_secs(wait),
            })
            .await;
        }
    };
    let span = tracing::debug_span!("enqueue", lane = lane.as_str(), job_id = Empty);
    let enqueued = app
        .enqueuer
        .enqueue_at(job, run_at)
        .instrument(span.clone())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, key = %job.dedup_key(), "enqueue failed; answering 503");
            ApiError::Retry("the delivery could not be queued; retry later")
        })?;
    if let Enqueued::New { job_id } = &enqueued {
        span.record("job_id", job_id.as_str());
    }
    Ok(counted(app, subject, &verdict, Taken::Queued(enqueued)))
}

/// The refusal path: the one place a delivery's duplicate check is paid for before its enqueue.
async fn refuse<J: Queued + Sync>(
    app: &AppState,
    subject: &Subject<'_>,
    job: &J,
    verdict: &Verdict,
    refusal: impl FnOnce() -> ApiError,
) -> Result<Taken, ApiError> {
    if app.enqueuer.is_known(job).await {
        return Ok(counted(
            app,
            subject,
            verdict,
            Taken::Queued(Enqueued::Duplicate),
        ));
    }
    count(app, subject, verdict, verdict.label());
    Err(refusal())
}

fn counted(app: &AppState, subject: &Subject<'_>, verdict: &Verdict, taken: Taken) -> Taken {
    let decision = match taken {
        Taken::Queued(Enqueued::Duplicate) => "duplicate",
        _ => verdict.label(),
    };
    count(app, subject, verdict, decision);
    taken
}

/// The metric, and the console's tally with the bucket that refused (a delay is not
/// attributed: the limiters do not say which limit delayed it).
fn count(app: &AppState, subject: &Subject<'_>, verdict: &Verdict, decision: &'static str) {
    let lane = subject.lane;
    metrics::counter!(m::ADMISSION_TOTAL, m::LABEL_LANE => lane.as_str(), m::LABEL_DECISION => decision).increment(1);
    let limit = match verdict {
        _ if decision == "duplicate" => None,
        Verdict::Drop(limit) | Verdict::Reject { limit, .. } => Some(*limit),
        _ => None,
    };
    let refused = match (limit, subject.chat) {
        (Some(Limit::Bot), _) => Some(Refused::Bot(subject.bot)),
        (Some(Limit::Chat), Some(chat)) => Some(Refused::Chat(subject.bot, chat)),
        _ => None,
    };
    app.tally.record(lane, decision, refused);
}
