//! What `/healthz` and `/readyz` of the worker say beyond Redis and Postgres answering.

use std::fmt::Write;

use sluice_shared::admin::Vitals;

use crate::{
    gate::DbGate,
    supervise::{LaneHealth, MAX_STREAK},
};

pub struct WorkerVitals {
    pub lanes: LaneHealth,
    pub gate: DbGate,
}

impl Vitals for WorkerVitals {
    /// Dead when a lane cannot be kept alive: restarting the process is the remedy left.
    fn liveness(&self) -> (bool, String) {
        let failing = self.lanes.failing();
        if failing.is_empty() {
            return (true, "ok\n".into());
        }
        let mut body = String::new();
        for lane in failing {
            let _ = writeln!(body, "lane {lane}: dying ({MAX_STREAK}+ restarts in a row)");
        }
        (false, body)
    }

    /// Not ready while fetching is paused for a Postgres outage.
    fn readiness(&self) -> (bool, String) {
        let paused = self.gate.is_paused();
        let state = if paused { "paused" } else { "ok" };
        (!paused, format!("fetch: {state}\n"))
    }
}
