//! The ordering check in the gate: which mode the run had, the `ordering_violations` threshold
//! of slo.toml judged on the check's count, and the lines that explain it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::GateError;
use super::check::{CheckResult, Status};
use super::input::Origin;
use super::slo::Rule;
use crate::ordering::{Ordering, OrderingReport};
use crate::summary::MetricStats;

/// The metric slo.toml names the check's count by (`count==0`).
pub const METRIC: &str = "ordering_violations";

/// The mode to check: `--ordering`, else what the run recorded, else `SLUICE_ORDERING`, else
/// `chat` (the product's default).
pub fn mode(flag: Option<Ordering>, origin: &Origin) -> Result<Ordering, GateError> {
    if let Some(m) = flag {
        return Ok(m);
    }
    let recorded = match origin {
        Origin::Ours(s) => s.ordering.clone(),
        _ => None,
    };
    let name = recorded
        .or_else(|| std::env::var("SLUICE_ORDERING").ok())
        .unwrap_or_else(|| "chat".into());
    Ordering::parse(name.trim()).ok_or(GateError::Ordering(name))
}

/// The `ordering_violations` rules judged on `report`; `why_not` says why there is none.
pub fn checks(rules: &[&Rule], report: Option<&OrderingReport>, why_not: &str) -> Vec<CheckResult> {
    rules
        .iter()
        .map(|rule| {
            let mut result = CheckResult {
                metric: rule.metric.clone(),
                threshold: rule.threshold.text.clone(),
                status: Status::Skip,
                got: None,
                note: None,
            };
            let Some(r) = report else {
                result.note = Some(format!("not measured: {why_not}"));
                return result;
            };
            let stats: MetricStats = BTreeMap::from([("count".to_owned(), r.violations as f64)]);
            let got = rule
                .threshold
                .stat_keys()
                .iter()
                .find_map(|k| stats.get(k).copied());
            match got {
                Some(v) => {
                    result.got = Some(v);
                    result.status = if rule.threshold.holds(v) {
                        Status::Pass
                    } else {
                        Status::Fail
                    };
                }
                None => {
                    result.note = Some(format!(
                        "not measured: {METRIC} has only a count, not {}",
                        rule.threshold.stat
                    ))
                }
            }
            result
        })
        .collect()
}

/// `ordering (chat): 2000 keys, 9000 updates, 8800 comparable, 3 out of order` and up to five
/// examples, printed before the check.
pub fn lines(r: &OrderingReport) -> String {
    let mut out = format!(
        "ordering ({}): {} keys, {} updates, {} with a known predecessor, {} out of order ({} not checked)",
        r.mode, r.keys, r.updates, r.comparable, r.violations, r.skipped
    );
    for v in &r.examples {
        let _ = write!(
            out,
            "\n  {} {}: update {} ran {:.1} ms before update {}, acknowledged ahead of it",
            v.bot, v.key, v.later_update_id, v.ahead_ms, v.earlier_update_id
        );
    }
    out
}
