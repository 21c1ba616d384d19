//! One job, start to finish: wait for the lane's share of capacity, write the row, run the
//! handler, then acknowledge, retry later, or park in the dead letters.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    sync::Arc,
    time::{Duration, Instant},
};

use apalis::prelude::{BoxDynError, Data, TaskId, WorkerContext};
use apalis_core::task::metadata::MetadataStore;
use futures::FutureExt;
use sluice_shared::{
    dlq::{DeadLetter, DeadLetters},
    job::{Job, Origin},
    metrics as m,
    queue::{Pusher, order::OrderTag},
    telemetry::propagate,
};
use tokio_util::task::AbortOnDropHandle;
use tracing::{Instrument as _, Span, field::Empty};
use ulid::Ulid;

use crate::{
    backoff::Backoff,
    gate::DbGate,
    handled::HandledMarks,
    handler::{HandlerContext, HandlerError, Update, UpdateHandler},
    order::{
        Next, Orderer, Start,
        chain::{Chain, Chained},
        local::{Entry, Handoff, Lead, LocalKeys, Waiter},
    },
    retry::{Decision, RetryPolicy},
    rows::{RIDE_OUT, RowWriter},
    scheduler::LaneScheduler,
    store::{self, JobRow, Seen, StoreError},
    supervise::panic_message,
};

/// Everything a job needs, shared by all jobs of the process.
pub struct Runtime<H> {
    pub handler: H,
    pub ctx: HandlerContext,
    pub rows: RowWriter,
    pub handled: HandledMarks,
    pub scheduler: LaneScheduler,
    pub policy: RetryPolicy,
    /// Where a retried or released job goes back to its lane.
    pub queue: Pusher,
    pub dead: DeadLetters,
    pub gate: DbGate,
    /// Per-key ordering: which job may start, and waking the next one.
    pub order: Arc<Orderer>,
    /// Jobs of a key waiting in this process for its job that runs (`order::local`).
    pub local: Arc<LocalKeys>,
    /// `handled_at` marks left running behind ordered jobs (see [`execute`]); the worker waits
    /// for them before it exits.
    pub marks: tokio_util::task::TaskTracker,
}

/// An ordered job that holds its key: its place, since when (its first attempt, Unix ms), and
/// whether it was handed to this slot by a chain (its parked copy is then the crash copy).
struct Hold {
    tag: OrderTag,
    since_ms: i64,
    chained: bool,
}

/// The apalis job function. It answers `Ok` once the job is settled (done, re-queued or dead);
/// an `Err` means settling failed (Redis down) and leaves the job to apalis's own retry.
pub async fn run<H: UpdateHandler>(
    job: Job,
    task_id: TaskId,
    worker: WorkerContext,
    meta: MetadataStore,
    rt: Data<Arc<Runtime<H>>>,
) -> Result<(), BoxDynError> {
    let span = job_span(&job, &task_id);
    settle(job, task_id, worker, meta, rt)
        .instrument(span)
        .await
}

/// `job`, from the moment the worker has it: the bot (or source), update_id, lane, job id and
/// how long the job waited in the queue. With traces on it continues the api request's trace,
/// so the queue wait is the gap between the api's `enqueue` and this span.
fn job_span(job: &Job, task_id: &dyn std::fmt::Display) -> Span {
    let waited_ms = (chrono::Utc::now().timestamp_millis() - job.received_at_ms).max(0);
    let span = tracing::info_span!(
        "job",
        bot = Empty,
        source = Empty,
        update_id = Empty,
        lane = job.lane.as_str(),
        job_id = %task_id,
        attempt = job.attempt,
        queue_wait_ms = waited_ms,
        otel.kind = "consumer",
    );
    match &job.origin {
        Origin::Telegram { bot, update_id, .. } => {
            span.record("bot", bot.as_str());
            span.record("update_id", update_id);
        }
        Origin::Signed { source, .. } => {
            span.record("source", source.as_str());
        }
    }
    propagate::continue_trace(&span, job.traceparent.as_deref());
    span
}

async fn settle<H: UpdateHandler>(
    job: Job,
    task_id: TaskId,
    worker: WorkerContext,
    meta: MetadataStore,
    rt: Data<Arc<Runtime<H>>>,
) -> Result<(), BoxDynError> {
    let lane = job.lane.as_str();
    let tag = rt.order.tag(|field| meta.get(field).map(str::to_owned));
    let keep = tag.as_ref().map(OrderTag::keep);
    if rt.gate.is_paused() {
        // Fetched just before the lanes paused: back to the queue rather than failing.
        let outcome = rt
            .gate
            .release(&rt.queue, &job, keep, &"fetch paused")
            .await?;
        metrics::counter!(m::JOBS_TOTAL, m::LABEL_LANE => lane, m::LABEL_OUTCOME => outcome)
            .increment(1);
        return Ok(());
    }
    let job_id = task_id.to_string();
    let mut chain = Chain::new(job_id.clone());
    // Its turn first: a job that waits behind its key runs nothing yet, and only a handler
    // that does more than store writes its row meanwhile, so the rows (and `handled_at`) of a
    // key follow its order whatever the handler.
    let next = match arrive(&rt, &job, &job_id, tag.as_ref()).await? {
        Arrival::Run(turn) => {
            attempt(&rt, &worker, &job, &job_id, tag.as_ref(), turn, &mut chain).await?
        }
        // This task carried a chain when its worker died: the chained job runs on here.
        Arrival::Resume(chained, lead) => Some((chained, lead)),
        // Parked on its key (its bytes are there), or finished before: this task is done.
        Arrival::Skip(outcome) => {
            count(lane, outcome);
            None
        }
        // Run by the job before it, in one run (`order::local`).
        Arrival::Ran(Ok(outcome)) => {
            count(lane, outcome);
            None
        }
        Arrival::Ran(Err(e)) => return Err(e.into()),
    };
    if let Some((first, lead)) = next {
        // On a task of its own: in the consumer's task, each wake-up of a chained job (its
        // forward's answer, its finish) would also poll the lane, and apalis fetches on every
        // poll, about two fetch scripts a job of a hot chat for nothing (measured: 34.5 Redis
        // commands a job, 25.6 this way). The carrier still waits for the chain, and dropping
        // the carrier (a forced stop) stops the chain, as before.
        let (rt, worker) = (Arc::clone(&rt), worker.clone());
        let chain = tokio::spawn(
            async move { carry(&rt, &worker, chain, first, lead).await }.in_current_span(),
        );
        AbortOnDropHandle::new(chain).await??;
    }
    Ok(())
}

fn count(lane: &'static str, outcome: &'static str) {
    metrics::counter!(m::JOBS_TOTAL, m::LABEL_LANE => lane, m::LABEL_OUTCOME => outcome)
        .increment(1);
}

/// Runs the jobs handed to this slot one after the other, each under its own job id and span,
/// until the chain ends (`order::chain`). The carrier task is acknowledged after the last.
async fn carry<H: UpdateHandler>(
    rt: &Runtime<H>,
    worker: &WorkerContext,
    mut chain: Chain,
    first: Chained,
    lead: Option<Lead>,
) -> Result<(), BoxDynError> {
    let mut next = Some((first, lead));
    while let Some((chained, lead)) = next.take() {
        let job_id = Ulid::generate().to_string();
        let span = job_span(&chained.job, &job_id);
        next = run_chained(rt, worker, &mut chain, chained, lead, &job_id)
            .instrument(span)
            .await?;
    }
    Ok(())
}

async fn run_chained<H: UpdateHandler>(
    rt: &Runtime<H>,
    worker: &WorkerContext,
    chain: &mut Chain,
    chained: Chained,
    lead: Option<Lead>,
    job_id: &str,
) -> Result<Option<(Chained, Option<Lead>)>, BoxDynError> {
    let Chained {
        tag,
        since_ms,
        job,
        written,
    } = chained;
    if rt.gate.is_paused() {
        // The lanes paused between two jobs of the chain: it goes back to its lane, its key
        // still held, like a fetched job.
        let outcome = rt
            .gate
            .release(&rt.queue, &job, Some(tag.keep()), &"fetch paused")
            .await?;
        rt.order.unchain(&tag).await?;
        metrics::counter!(m::JOBS_TOTAL, m::LABEL_LANE => job.lane.as_str(), m::LABEL_OUTCOME => outcome)
            .increment(1);
        return Ok(None);
    }
    let turn = Turn {
        hold: Some(Hold {
            tag: tag.clone(),
            since_ms,
            chained: true,
        }),
        lead,
        seen: written.then_some(Seen::Unhandled),
    };
    attempt(rt, worker, &job, job_id, Some(&tag), turn, chain).await
}

/// A job that may run now.
struct Turn {
    /// The key it holds (`None`: unordered).
    hold: Option<Hold>,
    /// Its key is led in this process: waiters may be handed the key or written with it.
    lead: Option<Lead>,
    /// Its row, when it was written while the job waited.
    seen: Option<Seen>,
}

/// One attempt of a job that may run now (`turn.hold`: the key it holds, if ordered): the row,
/// the handler, then done, retried or dead. Answers the key's next job when it is handed to
/// this slot.
async fn attempt<H: UpdateHandler>(
    rt: &Runtime<H>,
    worker: &WorkerContext,
    job: &Job,
    job_id: &str,
    tag: Option<&OrderTag>,
    turn: Turn,
    chain: &mut Chain,
) -> Result<Option<(Chained, Option<Lead>)>, BoxDynError> {
    let Turn { hold, lead, seen } = turn;
    let lane = job.lane.as_str();
    // The row before the permit: the permits bound the handlers, not the rows, so every fetched
    // job's row can join the next batched insert (see `startup::row_window`). The job is still
    // acknowledged only after its row is committed.
    let mut run = Vec::new();
    let stored = match seen {
        Some(seen) => (Ok(seen), false),
        None => match (&lead, &hold) {
            (Some(lead), Some(hold)) if rt.handler.stores_only() => {
                run = lead.take_run(hold.tag.seq, usize::MAX);
                match write_run(rt, job, job_id, &run).await {
                    Some(seen) => (Ok(seen), false),
                    None => {
                        // One at a time then, through the usual ride-out.
                        lead.put_back(std::mem::take(&mut run));
                        caught(job, store_row(rt, job, job_id, worker)).await
                    }
                }
            }
            _ => caught(job, store_row(rt, job, job_id, worker)).await,
        },
    };
    let permit = rt
        .scheduler
        .acquire(job.lane)
        .instrument(tracing::debug_span!("capacity", lane))
        .await;
    let waited_ms = (chrono::Utc::now().timestamp_millis() - job.received_at_ms).max(0);
    metrics::histogram!(m::JOB_WAIT_SECONDS, m::LABEL_LANE => lane)
        .record(waited_ms as f64 / 1000.0);
    let started = Instant::now();
    let (result, panicked) = match stored {
        (Ok(seen), _) => {
            let behind = hold.is_some();
            caught(job, execute(rt, job, job_id, worker, seen, behind)).await
        }
        (Err(e), panicked) => (Err(e), panicked),
    };
    metrics::histogram!(m::JOB_DURATION_SECONDS, m::LABEL_LANE => lane)
        .record(started.elapsed().as_secs_f64());
    let outcome = match result {
        Ok(()) => "done",
        // Released with its key still held: a database outage is no fault of the update.
        Err(e) if !panicked && rt.gate.blames_database(&e).await => {
            rt.gate
                .release(&rt.queue, job, tag.map(OrderTag::keep), &e)
                .await?
        }
        Err(e) => match settle_failure(rt, job, job_id, tag, hold.as_ref(), e).await? {
            "retried" if panicked => "panicked",
            outcome => outcome,
        },
    };
    // The capacity is for handlers: what follows (more rows of a run, the key's finish) must
    // not keep a handler waiting.
    drop(permit);
    let mut next = None;
    match &hold {
        Some(hold) if matches!(outcome, "done" | "dead") => {
            // The key moves on only now: an error here leaves the job to apalis's retry, whose
            // re-run is stale (or runs again, at least once) and finishes the key then.
            chain.ran();
            if let (Some(lead), "done", true) = (&lead, outcome, rt.handler.stores_only()) {
                write_more_runs(rt, lead, hold.tag.seq, &mut run).await;
            }
            let last = run.last().map_or(hold.tag.seq, |(seq, _)| *seq);
            let waiter = lead.as_ref().and_then(|lead| lead.take(last + 1));
            let carrier = match waiter {
                Some(_) => None,
                None => chain.carrier(worker.is_shutting_down()),
            };
            let tag = OrderTag {
                key: hold.tag.key.clone(),
                seq: last,
            };
            let finished = rt
                .order
                .finish(&tag, hold.tag.seq, carrier, waiter.is_some())
                .await;
            let ran = finished.as_ref().map(|_| "done").map_err(|e| e.to_string());
            if finished.is_ok() && !run.is_empty() {
                metrics::counter!(m::ORDER_NEXT_TOTAL, m::LABEL_HOW => "run")
                    .increment(run.len() as u64);
            }
            for (_, written) in run.drain(..) {
                written.ran(ran.clone());
            }
            next = hand_on(finished?, waiter, lead);
        }
        // Re-queued under a task of its own (after that push: a crash in between runs it twice
        // rather than never).
        Some(hold) if hold.chained => {
            restore(lead.as_ref(), run);
            rt.order.unchain(&hold.tag).await?
        }
        // Still holding its key (retried, released): the waiters ask Redis once the lead drops.
        _ => restore(lead.as_ref(), run),
    }
    count(lane, outcome);
    Ok(next)
}

/// Where the key goes after its job finished: to the waiter in this process, or a parked job
/// chained into this slot (which keeps the lead), or nowhere here (the lead is dropped and the
/// waiters, if any, ask Redis).
fn hand_on(
    next: Next,
    waiter: Option<Waiter>,
    lead: Option<Lead>,
) -> Option<(Chained, Option<Lead>)> {
    match (next, waiter, lead) {
        (Next::Handed { since_ms }, Some(waiter), Some(lead)) => {
            waiter.go(since_ms, lead);
            None
        }
        (Next::Chained(chained), _, lead) => Some((chained, lead)),
        _ => None,
    }
}

/// Waiters taken for a run whose leader did not finish: they wait again (their rows are
/// written; writing them again on their turn is a no-op).
fn restore(lead: Option<&Lead>, run: Vec<(u64, Waiter)>) {
    if let Some(lead) = lead {
        lead.put_back(run);
    }
}

/// A stores-only job's row together with the rows of the jobs waiting right behind it (`run`),
/// in one statement: for such a handler the row is the whole handling, and one transaction
/// keeps them in order. `None` when there is no run or the write failed (the caller writes its
/// own row alone, riding out an outage).
async fn write_run<H: UpdateHandler>(
    rt: &Runtime<H>,
    job: &Job,
    job_id: &str,
    run: &[(u64, Waiter)],
) -> Option<Seen> {
    if run.is_empty() {
        return None;
    }
    let JobRow::Update(own) = JobRow::of(job, job_id) else {
        return None;
    };
    let mut rows = Vec::with_capacity(run.len() + 1);
    rows.push(Arc::new(own));
    rows.extend(run.iter().filter_map(|(_, w)| w.row.clone()));
    let seen = rt
        .rows
        .write_together(rows)
        .instrument(tracing::debug_span!("insert", job_id, run = run.len()))
        .await
        .ok()?;
    seen.first().copied()
}

/// Most jobs one hold of a key writes in successive runs before its one `finish.lua`.
const MAX_HELD_RUN: usize = 64;

/// After a stores-only run committed: the jobs of its key that came to wait here meanwhile are
/// written next, a run per statement in the key's order, and join `run`, so one `finish.lua`
/// finishes them all (up to [`MAX_HELD_RUN`]). Between two runs no Redis round trip is needed:
/// for such a handler the committed row is the whole handling, so after a crash a copy of a
/// written job finds its row and does nothing (`Seen::Handled`), whatever Redis recorded. A
/// failed write puts its jobs back: they wait for their turn after the finish as before.
async fn write_more_runs<H: UpdateHandler>(
    rt: &Runtime<H>,
    lead: &Lead,
    first: u64,
    run: &mut Vec<(u64, Waiter)>,
) {
    while run.len() < MAX_HELD_RUN {
        let after = run.last().map_or(first, |(seq, _)| *seq);
        let mut more = lead.take_run(after, MAX_HELD_RUN - run.len());
        if more.is_empty() {
            return;
        }
        let rows: Vec<_> = more.iter().filter_map(|(_, w)| w.row.clone()).collect();
        let written = rt
            .rows
            .write_together(rows)
            .instrument(tracing::debug_span!("insert", run = more.len()))
            .await;
        match written {
            Ok(_) => run.append(&mut more),
            Err(_) => {
                lead.put_back(more);
                return;
            }
        }
    }
}

/// What a fetched job does now.
enum Arrival {
    /// Runs now.
    Run(Turn),
    /// Its task carried a chain whose worker died: the job that holds the key runs instead.
    Resume(Chained, Option<Lead>),
    /// Must not run now: `parked` or `stale`, or released (the lanes paused).
    Skip(&'static str),
    /// The job before it wrote its row with its own and finished both (`order::local`).
    Ran(Result<&'static str, String>),
}

/// Whether the job may run now. An ordered job whose key is busy in this process waits for it
/// here (`order::local`); otherwise, or when the key is given up here, Redis decides.
async fn arrive<H: UpdateHandler>(
    rt: &Runtime<H>,
    job: &Job,
    job_id: &str,
    tag: Option<&OrderTag>,
) -> Result<Arrival, BoxDynError> {
    let Some(tag) = tag else {
        return Ok(Arrival::Run(Turn {
            hold: None,
            lead: None,
            seen: None,
        }));
    };
    let stores_only = rt.handler.stores_only();
    let row = match JobRow::of(job, job_id) {
        JobRow::Update(row) => Some(Arc::new(row)),
        JobRow::Event(_) => None,
    };
    // A stores-only handler's row is its handling: it is written on its turn, or by the run it
    // joins. Any other handler's row now, before its turn, so that its turn starts at its
    // handler, whether it waits here, is parked (whoever runs it skips the write) or runs at
    // once. A failed write is tried again on its turn.
    let (for_run, seen) = match row {
        Some(row) if stores_only => (Some(row), None),
        Some(row) => {
            let insert = tracing::debug_span!("insert", job_id);
            (None, rt.rows.write(row).instrument(insert).await.ok())
        }
        None => (None, None),
    };
    match rt.local.enter(tag, for_run) {
        Entry::Lead(lead) => Ok(take_turn(rt, tag, job_id, job.lane, Some(lead), seen).await?),
        Entry::Alone => Ok(take_turn(rt, tag, job_id, job.lane, None, seen).await?),
        Entry::Wait(handoff) => {
            match handoff.await {
                Ok(Handoff::Go { since_ms, lead }) => {
                    if rt.gate.is_paused() {
                        // The lanes paused while it waited: back to its lane, its key held.
                        drop(lead);
                        let outcome = rt
                            .gate
                            .release(&rt.queue, job, Some(tag.keep()), &"fetch paused")
                            .await?;
                        return Ok(Arrival::Skip(outcome));
                    }
                    let hold = Hold {
                        tag: tag.clone(),
                        since_ms,
                        chained: false,
                    };
                    Ok(Arrival::Run(Turn {
                        hold: Some(hold),
                        lead: Some(lead),
                        seen,
                    }))
                }
                Ok(Handoff::Ran(result)) => Ok(Arrival::Ran(result)),
                // The key was given up here without a hand-off: this job leads it now, as if it
                // had arrived first.
                Ok(Handoff::Lead(lead)) => {
                    Ok(take_turn(rt, tag, job_id, job.lane, Some(lead), seen).await?)
                }
                // Taken to be handed the key, then dropped (its holder's finish failed): as if
                // it had never waited.
                Err(_) => Ok(take_turn(rt, tag, job_id, job.lane, None, seen).await?),
            }
        }
    }
}

async fn take_turn<H>(
    rt: &Runtime<H>,
    tag: &OrderTag,
    job_id: &str,
    lane: sluice_shared::lanes::Lane,
    lead: Option<Lead>,
    seen: Option<Seen>,
) -> redis::RedisResult<Arrival> {
    let written = seen == Some(Seen::Unhandled);
    Ok(match rt.order.start(tag, job_id, lane, written).await? {
        Start::Go { since_ms } => Arrival::Run(Turn {
            hold: Some(Hold {
                tag: tag.clone(),
                since_ms,
                chained: false,
            }),
            lead,
            seen,
        }),
        Start::Free => Arrival::Run(Turn {
            hold: None,
            lead: None,
            seen,
        }),
        Start::Resume(chained) => Arrival::Resume(chained, lead),
        Start::Parked => Arrival::Skip("parked"),
        Start::Stale => Arrival::Skip("stale"),
    })
}

/// Runs `attempt`; a panic is a failure like another: retried under the policy, dead-lettered at
/// the end. Returns the result and whether it panicked.
async fn caught<T>(
    job: &Job,
    attempt: impl Future<Output = Result<T, HandlerError>>,
) -> (Result<T, HandlerError>, bool) {
    match AssertUnwindSafe(attempt).catch_unwind().await {
        Ok(result) => (result, false),
        Err(panic) => {
            let panic = panic_message(&*panic).to_owned();
            tracing::error!(%panic, job = %job.describe(), "the job panicked");
            (
                Err(HandlerError::transient(format!("panicked: {panic}"))),
                true,
            )
        }
    }
}

/// The row first (the update is safe whatever the handler does); says whether a handler already
/// finished with this update.
async fn store_row<H: UpdateHandler>(
    rt: &Runtime<H>,
    job: &Job,
    job_id: &str,
    worker: &WorkerContext,
) -> Result<Seen, HandlerError> {
    let stores_only = rt.handler.stores_only();
    let insert = tracing::debug_span!("insert", job_id);
    Ok(match JobRow::of(job, job_id) {
        JobRow::Update(row) => {
            let row = Arc::new(row);
            ride_out(worker, job, || rt.rows.write(row.clone()))
                .instrument(insert)
                .await?
        }
        JobRow::Event(row) => {
            // Boxed: sqlx's transaction future is kilobytes, and every job's future would
            // carry (and copy) its space though few jobs are events.
            ride_out(worker, job, || async {
                Box::pin(store::insert_event(&rt.ctx.db, &row, stores_only))
                    .await
                    .map_err(StoreError::from)
            })
            .instrument(insert)
            .await?
        }
    })
}

/// The handler unless one already finished with this update, then `handled_at` (see
/// [`crate::handled`]).
///
/// `mark_behind`: the job holds its ordering key, so `handled_at` is set in the background while
/// the key moves on. Nothing is lost: once the key has moved on, this job is stale and never runs
/// again whatever its mark, and a crash before that re-runs the handler as an unfinished mark
/// would (at least once). Awaiting it would put a Postgres commit between every two jobs of a
/// busy chat.
async fn execute<H: UpdateHandler>(
    rt: &Runtime<H>,
    job: &Job,
    job_id: &str,
    worker: &WorkerContext,
    seen: Seen,
    mark_behind: bool,
) -> Result<(), HandlerError> {
    let stores_only = rt.handler.stores_only();
    if seen == Seen::Handled {
        metrics::counter!(m::JOBS_ALREADY_HANDLED_TOTAL, m::LABEL_LANE => job.lane.as_str())
            .increment(1);
        tracing::info!(job = %job.describe(), "already handled; not running the handler again");
        return Ok(());
    }
    rt.handler
        .handle(&rt.ctx, &Update::new(job, job_id.to_owned()))
        .instrument(tracing::debug_span!("handler", job_id))
        .await?;
    if !stores_only {
        // The handler's work is done: failing the job now would only run it again. Unmarked, a
        // later replay of the same update may run it again (at least once).
        let (handled, worker, job) = (rt.handled.clone(), worker.clone(), job.clone());
        let at = chrono::Utc::now();
        let mark = async move {
            if let Err(e) = ride_out(&worker, &job, || handled.mark(&job, at, mark_behind)).await {
                tracing::warn!(error = %e, job = %job.describe(), "could not record the update as handled");
            }
        };
        if mark_behind {
            rt.marks.spawn(mark.in_current_span());
        } else {
            mark.await;
        }
    }
    Ok(())
}

/// Retries a failing database write (up to [`RIDE_OUT`]) before the attempt counts as failed:
/// a brief Postgres outage costs no attempts. A row Postgres refuses fails the same way every
/// time: it is permanent at once and costs no attempts either.
async fn ride_out<T, F, Fut>(
    worker: &WorkerContext,
    job: &Job,
    mut write: F,
) -> Result<T, HandlerError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let started = Instant::now();
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    loop {
        match write().await {
            Ok(v) => return Ok(v),
            Err(e @ StoreError::Refused(_)) => {
                return Err(HandlerError::permanent(format!("storing the job: {e}")));
            }
            Err(e) if !worker.is_shutting_down() && started.elapsed() < RIDE_OUT => {
                metrics::counter!(m::DB_RETRIES_TOTAL).increment(1);
                let wait = backoff.next_delay();
                tracing::warn!(error = %e, job = %job.describe(), ?wait, "writing to postgres failed; retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(HandlerError::transient(format!("storing the job: {e}"))),
        }
    }
}

/// Retries later or dead-letters, as the policy says; an update that holds its key goes to the
/// dead letters once it has held it for `SLUICE_ORDER_MAX_HOLD`, and its retries are due by then.
async fn settle_failure<H>(
    rt: &Runtime<H>,
    job: &Job,
    job_id: &str,
    tag: Option<&OrderTag>,
    hold: Option<&Hold>,
    error: HandlerError,
) -> Result<&'static str, BoxDynError> {
    let mut decision = rt.policy.decide(job.attempt, &error);
    if let (Some(hold), Decision::Retry { delay, .. }) = (hold, &mut decision) {
        let held = Orderer::held_for(hold.since_ms);
        match rt.order.max_hold.checked_sub(held) {
            Some(left) if !left.is_zero() => *delay = (*delay).min(left),
            _ => {
                decision = Decision::Dead {
                    reason: format!(
                        "held its ordering key for {:.1}s (SLUICE_ORDER_MAX_HOLD): {error}",
                        held.as_secs_f64()
                    ),
                }
            }
        }
    }
    match decision {
        Decision::Retry {
            delay,
            next_attempt,
        } => {
            let new_id = rt
                .queue
                .requeue_ordered(
                    job.lane,
                    &job.with_attempt(next_attempt),
                    delay,
                    tag.map(OrderTag::keep),
                )
                .await?;
            tracing::info!(%error, job = %job.describe(), attempt = next_attempt, ?delay, next = %new_id, "job failed; retrying later");
            Ok("retried")
        }
        Decision::Dead { reason } => {
            let letter = DeadLetter {
                id: job_id.to_owned(),
                reason: reason.clone(),
                dead_at_ms: chrono::Utc::now().timestamp_millis(),
                envelope: job.clone(),
            };
            rt.dead.put(&letter).await?;
            tracing::warn!(%reason, job = %job.describe(), id = %job_id, "job moved to the dead letters");
            Ok("dead")
        }
    }
}
