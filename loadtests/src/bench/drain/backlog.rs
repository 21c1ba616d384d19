//! Backlogs queued by the `sluice-backlog` tool (one process per lane of a mix), and the push
//! rate it reported.

use std::collections::BTreeMap;

use super::{mix::LaneMix, session::Bench};
use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

/// One `sluice-backlog --json` line.
#[derive(Debug, Clone, Deserialize)]
pub struct PushLine {
    pub lane: String,
    pub count: u64,
    pub queued: u64,
    pub seconds: f64,
    pub mean_body_bytes: f64,
}

/// How one backlog was queued: per lane, in all, and how fast.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PushSummary {
    pub lanes: BTreeMap<String, u64>,
    pub queued: u64,
    pub seconds: f64,
    pub updates_per_s: f64,
    pub mean_body_bytes: f64,
}

impl PushSummary {
    pub fn of(lines: &[PushLine]) -> PushSummary {
        let count: u64 = lines.iter().map(|l| l.count).sum();
        let seconds: f64 = lines.iter().map(|l| l.seconds).sum();
        let body: f64 = lines
            .iter()
            .map(|l| l.mean_body_bytes * l.count as f64)
            .sum();
        PushSummary {
            lanes: lines.iter().map(|l| (l.lane.clone(), l.count)).collect(),
            queued: lines.iter().map(|l| l.queued).sum(),
            seconds,
            updates_per_s: (count as f64 / seconds).round(),
            mean_body_bytes: (body / count as f64).round(),
        }
    }
}

/// Queues `total` updates split by `mix` under `prefix`, update ids from `first_id`, one
/// `sluice-backlog` per lane; its lines go to `backlog-<label>.jsonl`, its log to `.log`.
pub async fn queue(
    bench: &Bench,
    redis_url: &str,
    prefix: &str,
    first_id: u64,
    total: u64,
    mix: &LaneMix,
    label: &str,
) -> anyhow::Result<PushSummary> {
    let (mut lines, mut jsonl, mut log) = (Vec::new(), String::new(), String::new());
    let mut first = first_id;
    for (lane, n) in mix.split(total) {
        let out = tokio::process::Command::new(bench.bin("sluice-backlog"))
            .args([
                "--prefix",
                prefix,
                "--lane",
                lane.as_str(),
                "--bot",
                &bench.bot,
            ])
            .args([
                "--count",
                &n.to_string(),
                "--first-id",
                &first.to_string(),
                "--json",
            ])
            .env("REDIS_URL", redis_url)
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .context("starting sluice-backlog")?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        jsonl.push_str(&stdout);
        if !out.status.success() {
            bail!("sluice-backlog failed ({}): {}", out.status, log.trim_end());
        }
        let line = stdout.lines().last().unwrap_or_default();
        lines.push(
            serde_json::from_str(line)
                .with_context(|| format!("sluice-backlog printed '{line}'"))?,
        );
        first += n;
    }
    std::fs::write(bench.out.join(format!("backlog-{label}.jsonl")), jsonl)?;
    std::fs::write(bench.out.join(format!("backlog-{label}.log")), log)?;
    Ok(PushSummary::of(&lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_summary_of_the_captured_run() {
        let lines: Vec<PushLine> = include_str!("../../../tests/fixtures/drain/backlog-w1.jsonl")
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let s = PushSummary::of(&lines);
        let expected: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/drain/summary.json"))
                .unwrap();
        let want: PushSummary =
            serde_json::from_value(expected["drain"]["workers_1"]["push"].clone()).unwrap();
        assert_eq!(s, want);
    }
}
