//! What the gate says: one line per check, the delivery counts, `VERDICT`, and the JSON verdict.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use super::evaluate::{Report, Status};
use super::{GateArgs, GateError};
use crate::delivery::DeliveryReport;

/// 0 PASS, 1 FAIL, 2 unusable input.
pub fn exit_code(result: &Result<Report, GateError>) -> u8 {
    match result {
        Ok(r) => r.verdict.exit_code(),
        Err(_) => 2,
    }
}

/// The text printed on stdout: `PASS http_req_duration p(95)<300 (got 12.3)` lines, the
/// delivery counts and checks, then `VERDICT PASS|FAIL` (`VERDICT ERROR` when the gate could not judge).
pub fn render(result: &Result<Report, GateError>) -> String {
    let mut out = String::new();
    let Ok(report) = result else {
        out.push_str("VERDICT ERROR\n");
        return out;
    };
    let mut counts = report.delivery.as_ref().map(delivery_line);
    let mut ordering = report.ordering.as_ref().map(super::ordered::lines);
    for c in &report.checks {
        if c.metric == super::ordered::METRIC
            && let Some(lines) = ordering.take()
        {
            let _ = writeln!(out, "{lines}");
        }
        // The delivery counts go just before the delivery checks they explain.
        if c.metric == "delivery"
            && let Some(line) = counts.take()
        {
            let _ = writeln!(out, "{line}");
        }
        let status = match c.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        };
        let detail = match (&c.got, &c.note) {
            (Some(v), _) => format!("got {}", number(*v)),
            (None, Some(note)) => note.clone(),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "{status} {} {} ({detail})", c.metric, c.threshold);
    }
    let verdict = serde_json::to_value(report.verdict).expect("a verdict serialises");
    let _ = writeln!(out, "VERDICT {}", verdict.as_str().unwrap_or("?"));
    out
}

fn delivery_line(d: &DeliveryReport) -> String {
    format!(
        "delivery: {} ledger lines, {} updates; {} acknowledged: {} present, {} lost; \
         {} duplicate rows; {} refused (4xx): {} present; {} unanswered/5xx: {} maybe queued; \
         {} unexpected rows (waited {:.1} s)",
        d.ledger_lines,
        d.keys,
        d.acked,
        d.present,
        d.lost,
        d.duplicate_rows,
        d.refused,
        d.refused_present,
        d.uncertain,
        d.maybe_queued,
        d.unexpected,
        d.waited_s
    )
}

/// Whole numbers without decimals, others with at most 4 significant decimals.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Writes the JSON verdict (also for an unusable input, with the error).
pub fn write(
    path: &Path,
    args: &GateArgs,
    result: &Result<Report, GateError>,
) -> std::io::Result<()> {
    let value = match result {
        Ok(r) => json!({
            "verdict": r.verdict,
            "exit_code": r.verdict.exit_code(),
            "profile": r.profile,
            "summary": args.summary,
            "summary_kind": r.summary_kind,
            "slo": args.slo,
            "checked_at": chrono::Utc::now().to_rfc3339(),
            "checks": r.checks,
            "delivery": r.delivery,
            "ordering": r.ordering,
        }),
        Err(e) => json!({
            "verdict": "ERROR",
            "exit_code": 2,
            "profile": args.profile,
            "summary": args.summary,
            "slo": args.slo,
            "checked_at": chrono::Utc::now().to_rfc3339(),
            "error": e.to_string(),
        }),
    };
    let text = serde_json::to_string_pretty(&value).expect("JSON values always serialise");
    std::fs::write(path, text + "\n")
}
