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

#[cfg(test)]
mod tests {
    use sluice_shared::lanes::Lane;

    use super::*;
    use crate::{handler::HandlerError, supervise::Death};

    fn vitals() -> WorkerVitals {
        let db = sqlx::PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap();
        WorkerVitals {
            lanes: LaneHealth::default(),
            gate: DbGate::new(db),
        }
    }

    #[tokio::test]
    async fn liveness_fails_only_for_a_lane_that_keeps_dying() {
        let v = vitals();
        for _ in 0..MAX_STREAK * 2 {
            v.lanes.started(Lane::Normal);
            v.lanes.died(Lane::Normal, Death::Error);
        }
        assert_eq!(
            v.liveness(),
            (true, "ok\n".into()),
            "Redis errors do not count"
        );
        for _ in 0..MAX_STREAK {
            v.lanes.started(Lane::High);
            v.lanes.died(Lane::High, Death::Panic);
        }
        let (alive, body) = v.liveness();
        assert!(!alive);
        assert_eq!(body, "lane high: dying (5+ restarts in a row)\n");
    }

    /// Postgres unreachable: a transient failure shuts the gate, a permanent one is the job's.
    #[tokio::test]
    async fn readiness_reports_the_fetch_gate() {
        let v = vitals();
        assert_eq!(v.readiness(), (true, "fetch: ok\n".into()));
        let permanent = HandlerError::permanent("bad payload");
        assert!(!v.gate.blames_database(&permanent).await);
        assert!(!v.gate.is_paused());
        assert!(v.gate.blames_database(&HandlerError::transient("x")).await);
        assert_eq!(v.readiness(), (false, "fetch: paused\n".into()));
    }
}
