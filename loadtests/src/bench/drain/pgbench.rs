//! (a) The reference: what Postgres itself does on this machine, in this run, with the insert
//! a worker makes (one `updates` row per transaction, `ON CONFLICT DO NOTHING`), from `pgbench`.

use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::{
    host::{MachineLoad, PhaseWindow},
    procs,
    session::{Bench, say},
};

/// A row like the worker's: the same columns, a ~450-byte jsonb update, a random update_id.
/// (No ":" directly before a letter or digit inside the JSON literal: pgbench would take it for
/// a variable.)
const SCRIPT: &str = r#"\set uid random(1, 9000000000000000)
\set chat random(1, 10000)
INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id, received_at)
VALUES ('pgbench', :uid::int8, 'message', 5000000000 + :chat::int8, 5000000000 + :chat::int8, 'normal',
        ('{"update_id":' || :uid::int8 || ',"message":{"message_id":' || :chat::int8
         || ',"from":{"id":' || 5000000000 + :chat::int8
         || ',"is_bot": false,"first_name":"Grace","last_name":"Hopper","username":"hopper_' || :chat::int8
         || '","language_code":"en"},"chat":{"id":' || 5000000000 + :chat::int8
         || ',"first_name":"Grace","last_name":"Hopper","username":"hopper_' || :chat::int8
         || '","type":"private"},"date": 1764000000,"text":"I pushed the fix, the build is green again. Let me know if the deploy looks fine on your side."}}')::jsonb,
        '01JDRAINBENCH' || :uid::int8, now())
ON CONFLICT DO NOTHING;
"#;

/// (a)'s figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PgbenchFigures {
    pub command: String,
    pub tps: f64,
    pub latency_avg_ms: Option<f64>,
    pub rows: u64,
    pub payload_text_bytes: f64,
    pub machine: MachineLoad,
}

/// `tps = ... (without initial connection time)` and `latency average = ... ms` of pgbench's
/// report.
pub fn parse_report(text: &str) -> anyhow::Result<(f64, Option<f64>)> {
    let number_after = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
    };
    let tps = text
        .lines()
        .filter(|l| l.contains("(without initial connection time)"))
        .find_map(|l| {
            l.strip_prefix("tps = ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        });
    match tps {
        Some(tps) => Ok((tps, number_after("latency average = "))),
        None => bail!("no tps in pgbench's output: {}", last_lines(text, 5)),
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub async fn run(bench: &Bench) -> anyhow::Result<PgbenchFigures> {
    let a = &bench.args;
    let (mode, clients, jobs, secs) = (
        &a.pgbench_mode,
        a.pgbench_clients,
        a.pgbench_jobs,
        a.pgbench_duration,
    );
    say(&format!(
        "(a) pgbench: one INSERT ... ON CONFLICT DO NOTHING per transaction, {clients} clients, {secs}s, -M {mode}"
    ));
    let db = bench.db();
    db.truncate().await?;
    let script = bench.out.join("pgbench-insert.sql");
    std::fs::write(&script, SCRIPT)?;
    let quiet = bench.wait_quiet().await;
    let window = PhaseWindow::begin(quiet);
    let mut cmd = Command::new("pgbench");
    cmd.args([
        "-n",
        "-M",
        mode,
        "-c",
        &clients.to_string(),
        "-j",
        &jobs.to_string(),
    ])
    .args(["-T", &secs.to_string(), "-f"])
    .arg(&script)
    .arg(&bench.database_url);
    procs::run(&bench.out, "pgbench", cmd, Duration::from_secs(secs + 60)).await?;
    let machine = window.end();
    let report =
        std::fs::read_to_string(bench.out.join("pgbench.log")).context("pgbench's output")?;
    let (tps, latency_avg_ms) = parse_report(&report)?;
    let figures = PgbenchFigures {
        command: format!(
            "pgbench -n -M {mode} -c {clients} -j {jobs} -T {secs} -f pgbench-insert.sql"
        ),
        tps,
        latency_avg_ms,
        rows: db.count_rows(None).await?,
        payload_text_bytes: db.mean_payload_bytes().await?,
        machine,
    };
    db.truncate().await?;
    say(&format!(
        "(a) pgbench: {tps} tps (latency {} ms), {} rows, payload ~{} bytes",
        super::show::opt(latency_avg_ms),
        figures.rows,
        figures.payload_text_bytes
    ));
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_captured_report() {
        let text = include_str!("../../../tests/fixtures/drain/pgbench.txt");
        // The same figures the script took from it (summary.json is that run's JSON).
        assert_eq!(parse_report(text).unwrap(), (4366.960776, Some(1.832)));
    }

    #[test]
    fn a_report_without_tps_is_an_error_quoting_it() {
        let err = parse_report("pgbench: error: connection to server failed\n").unwrap_err();
        assert!(
            err.to_string().contains("connection to server failed"),
            "{err}"
        );
    }
}
