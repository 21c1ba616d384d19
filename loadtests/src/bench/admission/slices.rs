//! The admission bench's figures: one row per measured slice (as wrk printed its figures),
//! each mode's mean over its slices, and the ratios local/off and redis/off, both of the means
//! and as the median of the per-round ratios (a neighbour's burst can halve one slice).

use std::fmt::Write as _;

use serde::Serialize;

use crate::bench::knobs::round_to;
use crate::bench::wrk::{HumanSummary, WrkOutputError, latency_ms};

/// The three `SLUICE_RATE_SCOPE`s, in the order the summary lists them.
pub const MODES: [&str; 3] = ["off", "local", "redis"];

/// Round `round` (from 1) measures the modes in a rotated order, so that none always goes
/// first: its `k`-th slice is of this mode.
pub fn mode_for(round: u32, k: usize) -> &'static str {
    MODES[(round as usize + k) % MODES.len()]
}

/// One measured slice of one mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    pub mode: String,
    pub round: u32,
    pub wrk: HumanSummary,
}

fn row(cols: [&str; 6]) -> String {
    let [a, b, c, d, e, f] = cols;
    format!("{a:<6} {b:<5} {c:>12} {d:>10} {e:>10} {f:>8}")
}

/// The table's heading.
pub fn header() -> String {
    row(["mode", "slice", "requests/s", "p50", "p99", "non-2xx"])
}

impl Slice {
    /// The slice's row of the table (and of `slices.txt`).
    pub fn row(&self) -> String {
        let (round, bad) = (self.round.to_string(), self.wrk.non_2xx.to_string());
        row([
            &self.mode,
            &round,
            &self.wrk.rps,
            &self.wrk.p50,
            &self.wrk.p99,
            &bad,
        ])
    }

    /// Reads a row back.
    pub fn parse_row(line: &str) -> Result<Slice, WrkOutputError> {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [mode, round, rps, p50, p99, bad] = f.as_slice() else {
            return Err(WrkOutputError::BadNumber(line.to_owned()));
        };
        let number = |s: &str| {
            s.parse()
                .map_err(|_| WrkOutputError::BadNumber(s.to_owned()))
        };
        Ok(Slice {
            mode: mode.to_string(),
            round: number(round)? as u32,
            wrk: HumanSummary {
                rps: rps.to_string(),
                p50: p50.to_string(),
                p99: p99.to_string(),
                non_2xx: number(bad)?,
            },
        })
    }
}

/// One mode's mean over its slices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeMean {
    pub mode: String,
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Summed over the slices.
    pub non_2xx: u64,
}

/// A ratio to `off`: of the means, and the median of the rounds' own ratios.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    pub of_means: f64,
    pub median_per_round: f64,
    pub target_min: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdmissionSummary {
    pub slices_per_mode: u32,
    pub modes: Vec<ModeMean>,
    pub local_over_off: Ratio,
    pub redis_over_off: Ratio,
}

/// The middle value (the mean of the two middle ones for an even count); NaN for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn rps_of(slices: &[Slice], mode: &str, round: u32) -> f64 {
    slices
        .iter()
        .find(|s| s.mode == mode && s.round == round)
        .map_or(f64::NAN, |s| s.wrk.rps_value())
}

/// Means per mode over `rounds` rounds, and the ratios to `off`.
pub fn summarize(slices: &[Slice], rounds: u32) -> AdmissionSummary {
    let n = rounds.max(1) as f64;
    let mean = |mode: &str| {
        let mine: Vec<&Slice> = slices.iter().filter(|s| s.mode == mode).collect();
        let sum = |f: &dyn Fn(&Slice) -> f64| mine.iter().map(|s| f(s)).sum::<f64>();
        ModeMean {
            mode: mode.to_owned(),
            rps: sum(&|s| s.wrk.rps_value()) / n,
            p50_ms: sum(&|s| latency_ms(&s.wrk.p50).unwrap_or(f64::NAN)) / n,
            p99_ms: sum(&|s| latency_ms(&s.wrk.p99).unwrap_or(f64::NAN)) / n,
            non_2xx: mine.iter().map(|s| s.wrk.non_2xx).sum(),
        }
    };
    let modes: Vec<ModeMean> = MODES.iter().map(|m| mean(m)).collect();
    let ratio = |mode: &str, i: usize, target_min: f64| {
        let per_round: Vec<f64> = (1..=rounds)
            .map(|r| rps_of(slices, mode, r) / rps_of(slices, "off", r))
            .collect();
        Ratio {
            of_means: modes[i].rps / modes[0].rps,
            median_per_round: median(&per_round),
            target_min,
        }
    };
    AdmissionSummary {
        slices_per_mode: rounds,
        local_over_off: ratio("local", 1, 0.95),
        redis_over_off: ratio("redis", 2, 0.70),
        modes,
    }
}

impl AdmissionSummary {
    /// The summary lines (`summary.txt`).
    pub fn render(&self) -> String {
        let mut o = String::new();
        for m in &self.modes {
            let _ = writeln!(
                o,
                "  {:<6} {:>10.0} req/s  p50 {:>6.2}ms  p99 {:>7.2}ms  non-2xx {}",
                m.mode, m.rps, m.p50_ms, m.p99_ms, m.non_2xx
            );
        }
        for (name, r) in [
            ("local/off", self.local_over_off),
            ("redis/off", self.redis_over_off),
        ] {
            let _ = writeln!(
                o,
                "  {name} = {:.3} (median per round {:.3}; target >= {:.2})",
                r.of_means, r.median_per_round, r.target_min
            );
        }
        o
    }

    /// The ratios rounded for the JSON (3 decimals, as printed).
    pub fn rounded(mut self) -> AdmissionSummary {
        for r in [&mut self.local_over_off, &mut self.redis_over_off] {
            r.of_means = round_to(r.of_means, 3);
            r.median_per_round = round_to(r.median_per_round, 3);
        }
        for m in &mut self.modes {
            (m.rps, m.p50_ms, m.p99_ms) = (
                round_to(m.rps, 1),
                round_to(m.p50_ms, 2),
                round_to(m.p99_ms, 2),
            );
        }
        self
    }
}
