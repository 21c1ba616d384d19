//! The figures of one drain attempt, from the `(seconds, rows)` samples taken while a worker
//! drained the backlog: the rate over the whole drain and over its middle 80 % (from 10 % to
//! 90 % of the backlog, interpolated between samples), and Redis commands per update.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bench::knobs::round_to;
use crate::bench::redis_probe::CallsUsec;

/// How a drain attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DrainEnd {
    /// The rows reached the backlog.
    Done,
    /// The row count did not move for the stall limit.
    Stalled,
    /// BENCH_DRAIN_TIMEOUT_S passed.
    Timeout,
    /// The worker exited.
    Exited,
}

impl std::fmt::Display for DrainEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            DrainEnd::Done => "done",
            DrainEnd::Stalled => "stalled",
            DrainEnd::Timeout => "timeout",
            DrainEnd::Exited => "exited",
        };
        f.write_str(s)
    }
}

/// Redis's work per update drained, for one command.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerUpdate {
    pub calls: f64,
    pub usec: f64,
}

/// One drain attempt, as the JSON's `drain.attempt` (and `result`) keep it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// Updates this attempt had to drain.
    pub backlog: u64,
    /// Rows it wrote.
    pub rows: u64,
    pub end: DrainEnd,
    pub seconds: f64,
    /// -1 when no row came.
    pub first_row_after_s: f64,
    /// Over the whole drain; 0 unless it was done.
    pub updates_per_s: f64,
    /// Between 10 % and 90 % of the backlog; 0 when the count did not pass both.
    pub updates_per_s_middle_80: f64,
    pub worker_cpu_s: f64,
    pub redis_cpu_s: f64,
    pub redis_per_update: BTreeMap<String, PerUpdate>,
}

/// What was recorded during one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DrainRecord {
    /// `(seconds since the worker started, rows in the table)`, every half second.
    pub samples: Vec<(f64, i64)>,
    /// The attempt ends when the table holds this many rows.
    pub target: u64,
    /// Rows before the attempt.
    pub rows0: u64,
    pub end: DrainEnd,
    pub worker_cpu_s: f64,
    pub redis_cpu_s: f64,
    pub redis_commands: BTreeMap<String, CallsUsec>,
}

/// When the row count crossed `level`, interpolated between the samples around it.
fn crossing(samples: &[(f64, i64)], level: f64) -> Option<f64> {
    samples.windows(2).find_map(|w| {
        let ((t0, c0), (t1, c1)) = (w[0], w[1]);
        if (c1 as f64) < level {
            return None;
        }
        if c1 == c0 {
            return Some(t1);
        }
        Some(t0 + (t1 - t0) * (level - c0 as f64) / (c1 - c0) as f64)
    })
}

impl DrainRecord {
    pub fn attempt(&self) -> Attempt {
        let (t_end, c_end) = self.samples.last().copied().unwrap_or((0.0, 0));
        let rows0 = self.rows0 as i64;
        let n = self.target as f64 - self.rows0 as f64;
        let rows = (c_end - rows0).max(0) as u64;
        let first = self
            .samples
            .iter()
            .find(|(_, c)| *c > rows0)
            .map_or(-1.0, |(t, _)| *t);
        let t10 = crossing(&self.samples, self.rows0 as f64 + 0.1 * n);
        let t90 = crossing(&self.samples, self.rows0 as f64 + 0.9 * n);
        let whole = if self.end == DrainEnd::Done && t_end > 0.0 {
            n / t_end
        } else {
            0.0
        };
        let middle = match (t10, t90) {
            (Some(a), Some(b)) if b > a => 0.8 * n / (b - a),
            _ => 0.0,
        };
        let per = rows.max(1) as f64;
        let redis_per_update = self
            .redis_commands
            .iter()
            .map(|(name, c)| {
                let calls = round_to(c.calls as f64 / per, 3);
                (
                    name.clone(),
                    PerUpdate {
                        calls,
                        usec: round_to(c.usec as f64 / per, 1),
                    },
                )
            })
            .collect();
        Attempt {
            backlog: self.target.saturating_sub(self.rows0),
            rows,
            end: self.end,
            seconds: round_to(t_end, 2),
            first_row_after_s: round_to(first, 2),
            updates_per_s: round_to(whole, 1),
            updates_per_s_middle_80: round_to(middle, 1),
            worker_cpu_s: round_to(self.worker_cpu_s, 2),
            redis_cpu_s: round_to(self.redis_cpu_s, 2),
            redis_per_update,
        }
    }
}

/// `seconds rows` lines, as `drain-<label>.tsv` keeps the samples.
pub fn samples_tsv(samples: &[(f64, i64)]) -> String {
    samples
        .iter()
        .map(|(t, n)| format!("{t:.3} {n}\n"))
        .collect()
}

/// Reads `samples_tsv`'s lines back.
pub fn parse_samples_tsv(text: &str) -> Vec<(f64, i64)> {
    text.lines()
        .filter_map(|l| {
            let (t, n) = l.split_once(' ')?;
            Some((t.parse().ok()?, n.trim().parse().ok()?))
        })
        .collect()
}
