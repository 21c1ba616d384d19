//! The database gate: while Postgres is unavailable no lane fetches and no job burns an attempt.
//!
//! Without it, an outage longer than the retry schedule (8 attempts, about 5–6 minutes) sent
//! every job fetched during it to the dead letters. Now a job that fails while Postgres does not
//! answer `SELECT 1` is released back to its lane with its attempt count unchanged, and every lane
//! consumer of the process is paused (apalis's `WorkerContext::pause` stops the fetch loop before
//! it asks Redis for work) until a probe with backoff (0.5 → 5 s) finds Postgres again. Jobs stay
//! in Redis meanwhile; nothing piles up in the process beyond what was already fetched.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use apalis::prelude::WorkerContext;
use sluice_shared::{job::Job, metrics as m};
use sqlx::PgPool;

use sluice_shared::queue::{PushError, Pusher, order::Order};

use crate::{backoff::Backoff, handler::HandlerError};

/// A probe slower than this counts as "Postgres unavailable".
const PROBE_WITHIN: Duration = Duration::from_secs(1);
const PROBE_FIRST: Duration = Duration::from_millis(500);
const PROBE_MAX: Duration = Duration::from_secs(5);
/// A successful probe is trusted this long, so a storm of failures elsewhere (a forward target
/// down) costs at most about one probe per second.
const TRUST_OK: Duration = Duration::from_secs(1);
/// A released job is due again after this; fetching resumes only once the probe succeeds.
const RELEASE_DELAY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct DbGate {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    paused: AtomicBool,
    last_ok: Mutex<Option<Instant>>,
    /// The lane consumers of this process, so one outage pauses all of them at once.
    lanes: Mutex<Vec<WorkerContext>>,
}

impl DbGate {
    pub fn new(db: PgPool) -> DbGate {
        metrics::gauge!(m::WORKER_FETCH_PAUSED).set(0.0);
        DbGate {
            inner: Arc::new(Inner {
                db,
                paused: AtomicBool::new(false),
                last_ok: Mutex::new(None),
                lanes: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn is_paused(&self) -> bool {
        self.inner.paused.load(Ordering::SeqCst)
    }

    /// Makes a lane consumer follow the gate (called on its start and heartbeats, so a consumer
    /// restarted during an outage is paused too, and a missed resume heals within a heartbeat).
    pub fn follow(&self, worker: &WorkerContext) {
        let mut lanes = self.lanes();
        lanes.retain(|w| w.name() != worker.name() && !w.is_shutting_down());
        lanes.push(worker.clone());
        sync(worker, self.is_paused());
    }

    /// Whether a failed attempt is Postgres's fault: only a transient failure, and only while
    /// Postgres is down (the gate is shut, or a probe fails now, which shuts it).
    pub async fn blames_database(&self, error: &HandlerError) -> bool {
        if !matches!(error, HandlerError::Transient { .. }) {
            return false;
        }
        if self.is_paused() {
            return true;
        }
        let trusted = |at: &Option<Instant>| at.is_some_and(|t| t.elapsed() < TRUST_OK);
        if trusted(&self.last_ok()) {
            return false;
        }
        // Boxed: sqlx's future is kilobytes, carried (and copied) by every job's future otherwise.
        if Box::pin(sluice_shared::db::ping(&self.inner.db, PROBE_WITHIN)).await {
            *self.last_ok() = Some(Instant::now());
            return false;
        }
        self.shut();
        true
    }

    /// Puts `job` back in its lane as the same attempt, in the same place of its key's order;
    /// the answer is the job's outcome label.
    pub async fn release(
        &self,
        queue: &Pusher,
        job: &Job,
        order: Option<Order<'_>>,
        why: &(dyn std::fmt::Display + Sync),
    ) -> Result<&'static str, PushError> {
        let id = queue
            .requeue_ordered(job.lane, job, RELEASE_DELAY, order)
            .await?;
        tracing::info!(job = %job.describe(), attempt = job.attempt, next = %id, error = %why, "Postgres unavailable: job released, no attempt used");
        Ok("released")
    }

    fn shut(&self) {
        if self.inner.paused.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::warn!("Postgres is unavailable: every lane stops fetching until it answers");
        metrics::gauge!(m::WORKER_FETCH_PAUSED).set(1.0);
        for w in self.lanes().iter() {
            sync(w, true);
        }
        tokio::spawn(self.clone().probe());
    }

    async fn probe(self) {
        let mut backoff = Backoff::new(PROBE_FIRST, PROBE_MAX);
        loop {
            tokio::time::sleep(backoff.ceiling()).await;
            backoff.next_delay();
            if sluice_shared::db::ping(&self.inner.db, PROBE_WITHIN).await {
                break;
            }
        }
        self.inner.paused.store(false, Ordering::SeqCst);
        metrics::gauge!(m::WORKER_FETCH_PAUSED).set(0.0);
        for w in self.lanes().iter() {
            sync(w, false);
        }
        tracing::info!("Postgres answers again: lanes fetch again");
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, Vec<WorkerContext>> {
        self.inner.lanes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn last_ok(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.inner.last_ok.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Brings one consumer's state in line with the gate; a stopping consumer is left alone.
fn sync(worker: &WorkerContext, paused: bool) {
    if paused && worker.is_running() {
        let _ = worker.pause();
    } else if !paused && worker.is_paused() {
        let _ = worker.resume();
    }
}
