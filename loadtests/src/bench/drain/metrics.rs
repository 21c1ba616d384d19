//! Figures read from a worker's Prometheus exposition (`/metrics` at the end of a phase): sums
//! of counters and the high lane's wait histogram.

use serde::{Deserialize, Serialize};

/// Sum of the samples of `name` (exactly that name, with or without labels) whose line contains
/// `filter` (e.g. `outcome="done"`; "" for all).
pub fn sum(exposition: &str, name: &str, filter: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| filter.is_empty() || line.contains(filter))
        .filter_map(|line| line.split_whitespace().last()?.parse::<f64>().ok())
        .sum()
}

/// One cumulative bucket: how many samples were at most `le`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    pub le: String,
    pub n: u64,
}

/// The buckets of histogram `name` (e.g. `sluice_job_wait_seconds`) on lines with `label`
/// (e.g. `lane="high"`), in exposition order.
pub fn buckets(exposition: &str, name: &str, label: &str) -> Vec<Bucket> {
    let prefix = format!("{name}_bucket{{");
    exposition
        .lines()
        .filter(|l| l.starts_with(&prefix) && l.contains(label))
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let n = l.split_whitespace().last()?.parse::<f64>().ok()?;
            Some(Bucket {
                le: le.to_owned(),
                n: n as u64,
            })
        })
        .collect()
}

/// The high lane's `sluice_job_wait_seconds` as the JSON reports it: bucket bounds for p50 and
/// p99 and the share of jobs that waited at most 100 ms.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WaitHistogram {
    pub count: u64,
    pub p50_le_s: String,
    pub p99_le_s: String,
    pub share_under_100ms: Option<f64>,
    pub buckets: Vec<Bucket>,
}

impl WaitHistogram {
    pub fn of(buckets: Vec<Bucket>) -> WaitHistogram {
        let count = buckets.iter().find(|b| b.le == "+Inf").map_or(0, |b| b.n);
        let bound = |q: f64| {
            buckets
                .iter()
                .find(|b| b.le != "+Inf" && b.n as f64 >= q * count as f64)
                .map_or_else(|| "+Inf".to_owned(), |b| b.le.clone())
        };
        let under_100ms = buckets.iter().find(|b| b.le == "0.1").map_or(0, |b| b.n);
        WaitHistogram {
            count,
            p50_le_s: bound(0.5),
            p99_le_s: bound(0.99),
            share_under_100ms: (count > 0)
                .then(|| (under_100ms as f64 / count as f64 * 1000.0).round() / 1000.0),
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKER: &str = include_str!("../../../tests/fixtures/drain/metrics-w1-0.txt");
    const PRIO: &str = include_str!("../../../tests/fixtures/drain/metrics-prio.txt");

    #[test]
    fn sums_counters_by_label() {
        assert_eq!(sum(WORKER, "sluice_jobs_total", "outcome=\"done\""), 5000.0);
        assert_eq!(sum(WORKER, "sluice_jobs_total", "outcome=\"dead\""), 0.0);
        // `_sum` is its own name: the summary's quantile lines do not count.
        assert_eq!(sum(WORKER, "sluice_db_batch_rows_sum", ""), 5000.0);
        assert_eq!(sum(WORKER, "sluice_db_batch_rows_count", ""), 880.0);
        assert_eq!(
            sum(
                "a_total 2\na_total_x 5\na_total{l=\"1\"} 3\n",
                "a_total",
                ""
            ),
            5.0
        );
    }

    #[test]
    fn the_wait_histogram_of_the_captured_run() {
        let h = WaitHistogram::of(buckets(PRIO, "sluice_job_wait_seconds", "lane=\"high\""));
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/drain/summary.json"))
                .unwrap();
        let want: WaitHistogram =
            serde_json::from_value(fixture["priority"]["high"]["wait_histogram"].clone()).unwrap();
        assert_eq!(h, want);
    }

    #[test]
    fn an_empty_histogram_has_no_share() {
        let h = WaitHistogram::of(vec![]);
        assert_eq!(
            (h.count, h.p99_le_s.as_str(), h.share_under_100ms),
            (0, "+Inf", None)
        );
    }
}
