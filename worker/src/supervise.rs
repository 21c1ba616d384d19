//! Keeps every lane's consumer alive: restarts it with backoff when it fails, ends or panics,
//! counts why, and tells liveness when a lane cannot be kept alive.
//!
//! A lane whose consumer died used to leave `/healthz` at 200 while its jobs sat unprocessed. A
//! panic escaping a job (or apalis) now costs one restart; a lane whose consumers die
//! [`MAX_STREAK`] times in a row, none of them living [`STABLE`], fails liveness so the
//! orchestrator replaces the process. Redis errors restart the consumer too but do not count
//! against liveness: a new process would meet the same Redis (readiness reports it).

use std::{
    any::Any,
    fmt::Display,
    future::Future,
    panic::AssertUnwindSafe,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::FutureExt;
use sluice_shared::{
    lanes::{Lane, PerLane},
    metrics as m,
};
use tokio::{sync::watch, time::Instant};

use crate::backoff::Backoff;

/// An incarnation that lived this long was healthy: its death resets the backoff and the streak.
pub const STABLE: Duration = Duration::from_secs(60);
/// Short-lived incarnations in a row after which the lane counts as dead for liveness.
pub const MAX_STREAK: u32 = 5;
const RESTART_FIRST: Duration = Duration::from_millis(500);
const RESTART_MAX: Duration = Duration::from_secs(30);

/// Why a lane's consumer stopped without being asked to (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Death {
    /// It returned an error (Redis unreachable, a stream error).
    Error,
    /// It returned without error though nobody stopped it.
    Ended,
    /// It panicked.
    Panic,
}

impl Death {
    pub fn as_str(self) -> &'static str {
        match self {
            Death::Error => "error",
            Death::Ended => "ended",
            Death::Panic => "panic",
        }
    }
}

/// The lanes' life records, shared by the supervisors and `/healthz`: one per consumer of a lane
/// (`SLUICE_LANE_CONSUMERS`). A handle records for one consumer ([`LaneHealth::consumer`]).
#[derive(Clone, Default)]
pub struct LaneHealth {
    lanes: Arc<Mutex<PerLane<Vec<Life>>>>,
    consumer: usize,
}

#[derive(Default, Clone, Copy)]
struct Life {
    /// Deaths in a row that count against liveness, each after less than [`STABLE`].
    streak: u32,
    /// When the running incarnation started; `None` while the lane waits to restart.
    up_since: Option<Instant>,
}

impl LaneHealth {
    /// The handle that records the lives of a lane's consumer `index`.
    pub(crate) fn consumer(&self, index: usize) -> LaneHealth {
        LaneHealth {
            lanes: self.lanes.clone(),
            consumer: index,
        }
    }

    fn with<T>(&self, lane: Lane, f: impl FnOnce(&mut Life) -> T) -> T {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        let lives = &mut lanes[lane];
        if lives.len() <= self.consumer {
            lives.resize(self.consumer + 1, Life::default());
        }
        f(&mut lives[self.consumer])
    }

    pub(crate) fn started(&self, lane: Lane) {
        self.with(lane, |l| l.up_since = Some(Instant::now()));
    }

    pub(crate) fn died(&self, lane: Lane, death: Death) {
        self.with(lane, |l| {
            if l.up_since.is_some_and(|t| t.elapsed() >= STABLE) {
                l.streak = 0;
            }
            if death != Death::Error {
                l.streak += 1;
            }
            l.up_since = None;
        });
    }

    /// Lanes that cannot be kept alive: a consumer with [`MAX_STREAK`] short lives in a row, and
    /// no incarnation of it since that has lived [`STABLE`].
    pub fn failing(&self) -> Vec<Lane> {
        let lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        Lane::ALL
            .into_iter()
            .filter(|&lane| {
                lanes[lane].iter().any(|l| {
                    l.streak >= MAX_STREAK && l.up_since.is_none_or(|t| t.elapsed() < STABLE)
                })
            })
            .collect()
    }
}

/// Runs `start(incarnation)` for `lane` again and again until `stop` is set: each end that was
/// not asked for is logged, counted in `sluice_worker_restarts_total{lane,reason}` and followed
/// by a restart after a backoff (0.5 s doubling to 30 s, reset by a stable run).
pub async fn supervise<F, Fut, E>(
    lane: Lane,
    health: LaneHealth,
    stop: watch::Receiver<bool>,
    mut start: F,
) where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let mut backoff = Backoff::new(RESTART_FIRST, RESTART_MAX);
    for incarnation in 0u64.. {
        if *stop.borrow() {
            return;
        }
        health.started(lane);
        let since = Instant::now();
        let death = match AssertUnwindSafe(start(incarnation)).catch_unwind().await {
            _ if *stop.borrow() => return,
            Ok(Ok(())) => Death::Ended,
            Ok(Err(e)) => {
                tracing::warn!(%lane, incarnation, error = %e, "lane consumer failed; restarting");
                Death::Error
            }
            Err(panic) => {
                let panic = panic_message(&*panic);
                tracing::error!(%lane, incarnation, %panic, "lane consumer panicked; restarting");
                Death::Panic
            }
        };
        if death == Death::Ended {
            tracing::warn!(%lane, incarnation, "lane consumer stopped unexpectedly; restarting");
        }
        metrics::counter!(m::WORKER_RESTARTS_TOTAL, m::LABEL_LANE => lane.as_str(), m::LABEL_REASON => death.as_str())
            .increment(1);
        if since.elapsed() >= STABLE {
            backoff = Backoff::new(RESTART_FIRST, RESTART_MAX);
        }
        health.died(lane, death);
        let mut stop = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_delay()) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
pub fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message")
}

#[cfg(test)]
mod tests;
