//! The benchmark's JSON (`drain-<timestamp>.json`): the machine, the worker settings, each
//! phase's figures, and the ratios against the pgbench reference.

use serde::{Deserialize, Serialize};

use super::{
    config::WorkerSettings, drains::DrainFigures, endurance::EnduranceFigures,
    pgbench::PgbenchFigures, priority::PriorityFigures,
};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub timestamp: String,
    pub queue_prefix: String,
    pub command: String,
    pub machine: MachineInfo,
    pub worker_settings: WorkerSettings,
    pub pgbench: Option<PgbenchFigures>,
    pub drain: Drains,
    pub ratios: Ratios,
    pub priority: Option<PriorityFigures>,
    pub endurance: Option<EnduranceFigures>,
    pub targets: Targets,
}

/// The machine and the software the figures were measured on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineInfo {
    pub cpu_model: String,
    pub nproc: u64,
    pub mem_gib: f64,
    pub kernel: String,
    pub redis: String,
    pub postgres: String,
    pub postgres_settings: String,
    pub pgbench: String,
    pub git: String,
    pub git_modified_files: u64,
    /// `sluice-api=<12 hex> sluice-worker=<12 hex>`.
    pub binaries_sha256: String,
    pub loadavg_start: Vec<f64>,
    pub loadavg_end: Vec<f64>,
}

/// (b) and (c), by worker count.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Drains {
    pub workers_1: Option<DrainFigures>,
    pub workers_2: Option<DrainFigures>,
    pub workers_3: Option<DrainFigures>,
}

impl Drains {
    pub fn set(&mut self, workers: u32, figures: DrainFigures) {
        match workers {
            1 => self.workers_1 = Some(figures),
            2 => self.workers_2 = Some(figures),
            _ => self.workers_3 = Some(figures),
        }
    }
}

/// The drains against the pgbench reference (target >= 1.0) and against one worker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Ratios {
    pub b_over_a: Option<f64>,
    pub c2_over_a: Option<f64>,
    pub c3_over_a: Option<f64>,
    pub b_middle80_over_a: Option<f64>,
    pub growth_2_over_1: Option<f64>,
    pub growth_3_over_1: Option<f64>,
}

fn r3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// `x / over` to three places, when both are there and `over` is positive.
fn ratio(x: Option<f64>, over: Option<f64>) -> Option<f64> {
    match (x, over) {
        (Some(x), Some(over)) if over > 0.0 => Some(r3(x / over)),
        _ => None,
    }
}

impl Ratios {
    pub fn of(a: Option<&PgbenchFigures>, d: &Drains) -> Ratios {
        let tps = a.map(|a| a.tps);
        let rate = |f: &Option<DrainFigures>| f.as_ref().map(|f| f.updates_per_s);
        Ratios {
            b_over_a: ratio(rate(&d.workers_1), tps),
            c2_over_a: ratio(rate(&d.workers_2), tps),
            c3_over_a: ratio(rate(&d.workers_3), tps),
            b_middle80_over_a: ratio(d.workers_1.as_ref().map(|f| f.updates_per_s_middle_80), tps),
            growth_2_over_1: ratio(rate(&d.workers_2), rate(&d.workers_1)),
            growth_3_over_1: ratio(rate(&d.workers_3), rate(&d.workers_1)),
        }
    }
}

/// What the figures are judged against (issue 4).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub ratio_min: f64,
    pub high_wait_p99_ms_max: f64,
}

impl Default for Targets {
    fn default() -> Targets {
        Targets {
            ratio_min: 1.0,
            high_wait_p99_ms_max: 100.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../../../tests/fixtures/drain/summary.json")).unwrap()
    }

    /// Numbers compare by value (jq writes 258 where serde writes 258.0).
    fn same(a: &serde_json::Value, b: &serde_json::Value) -> bool {
        use serde_json::Value::*;
        match (a, b) {
            (Number(x), Number(y)) => x.as_f64() == y.as_f64(),
            (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
            (Object(x), Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }

    #[test]
    fn the_captured_json_reads_and_writes_back_unchanged() {
        // Every key of the script's JSON is modelled (unknown fields are refused) and nothing
        // is added: the shape is the script's.
        let captured = fixture();
        let summary: Summary = serde_json::from_value(captured.clone()).unwrap();
        let written = serde_json::to_value(&summary).unwrap();
        assert!(same(&written, &captured), "{written:#}");
    }

    #[test]
    fn consumers_per_lane_are_recorded_and_an_old_run_reads_as_one() {
        let old = fixture();
        let mut summary: Summary = serde_json::from_value(old).unwrap();
        assert_eq!(summary.worker_settings.lane_consumers, "1");
        summary.worker_settings.lane_consumers = "2".into();
        let written = serde_json::to_value(&summary).unwrap();
        assert_eq!(written["worker_settings"]["lane_consumers"], "2");
        let back: Summary = serde_json::from_value(written).unwrap();
        assert_eq!(back.worker_settings.lane_consumers, "2");
    }

    #[test]
    fn the_ratios_of_the_captured_run() {
        let summary: Summary = serde_json::from_value(fixture()).unwrap();
        assert_eq!(
            Ratios::of(summary.pgbench.as_ref(), &summary.drain),
            summary.ratios
        );
        assert_eq!(summary.ratios.b_over_a, Some(0.485));
    }

    #[test]
    fn no_reference_no_ratio() {
        let summary: Summary = serde_json::from_value(fixture()).unwrap();
        let r = Ratios::of(None, &summary.drain);
        assert_eq!(
            (r.b_over_a, r.c3_over_a, r.growth_2_over_1),
            (None, None, Some(0.899))
        );
        assert_eq!(Ratios::of(None, &Drains::default()).growth_2_over_1, None);
    }
}
