//! The HTML report of a run (`report.html`): one self-contained page (no JavaScript, no external
//! assets, charts as inline SVG) that a reviewer can open from a CI artifact.
//!
//! # Layout
//! - this file: the page, its facts and tables, and HTML escaping;
//! - `verdict`: the gate's verdict, rendered generically (its JSON may grow fields);
//! - `panels`: which charts a summary's time series allow, and their series;
//! - `plot`: drawing one line chart with plotters into an SVG string.

mod panels;
mod plot;
mod verdict;

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

use crate::summary::{MetricStats, Summary};

/// Renders the whole page. `verdict` is the gate's JSON output, shown at the top when given.
pub fn render(summary: &Summary, verdict: Option<&serde_json::Value>) -> String {
    let mut page = String::with_capacity(256 * 1024);
    let title = format!("sluice-load {}", summary.profile);
    page.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(page, "<title>{}</title>", escape(&title));
    let _ = writeln!(page, "<style>{CSS}</style>\n</head>\n<body>");
    let _ = writeln!(page, "<h1>{}</h1>", escape(&title));
    if let Some(v) = verdict {
        verdict::section(&mut page, v);
    }
    facts(&mut page, summary);
    requests(&mut page, summary);
    metrics(&mut page, &summary.metrics);
    checks(&mut page, summary);
    page.push_str("<h2>Over time</h2>\n");
    for panel in panels::panels(&summary.timeseries) {
        panel.render(&mut page);
    }
    environment(&mut page, summary);
    let _ = writeln!(
        page,
        "<footer>Written by {} (summary format {}).</footer>\n</body>\n</html>",
        escape(&summary.tool),
        summary.format
    );
    page
}

/// Renders the page without a verdict (the run writes it before any gate has judged it).
pub fn write(summary: &Summary, path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, render(summary, None))
        .with_context(|| format!("writing the HTML report to {}", path.display()))
}

// Wide tables scroll on their own rather than widening the page; SVGs keep their aspect ratio.
const CSS: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1000px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;display:block;overflow-x:auto}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.stat{display:inline-block;margin-right:1em;white-space:nowrap}
.badge{display:inline-block;padding:.2em .8em;border-radius:4px;font-weight:bold;color:#fff}
.pass{color:#17702e}.fail{color:#b00020;font-weight:bold}.skip{color:#777}
.badge.pass{background:#1e8e3e;color:#fff}.badge.fail{background:#c5221f;color:#fff}
.badge.other{background:#666}
figure{margin:1em 0}figcaption{color:#555;font-size:.9em}
svg{max-width:100%;height:auto;display:block}
.note{color:#666;font-style:italic}pre{background:#f5f5f5;padding:.5em;overflow-x:auto}
footer{margin-top:2em;color:#888;font-size:.85em}
";

fn facts(page: &mut String, s: &Summary) {
    page.push_str("<h2>Run</h2>\n<table>\n");
    let duration = format!(
        "{} s (planned {} s)",
        num(s.duration_s),
        num(s.plan.duration_s)
    );
    let mut rows = vec![
        ("profile", s.profile.clone()),
        ("target", s.target.clone()),
        ("started", s.started_at.clone()),
        ("duration", duration),
        ("plan", s.plan.shape.clone()),
        ("arrivals scheduled", s.plan.arrivals.to_string()),
    ];
    if s.plan.resend_share > 0.0 {
        rows.push(("share re-sent", percent(s.plan.resend_share)));
    }
    rows.push(("bots", s.bots.len().to_string()));
    if let Some(ledger) = &s.ledger {
        rows.push(("ledger", ledger.clone()));
    }
    for (k, v) in rows {
        let _ = writeln!(page, "<tr><th>{k}</th><td>{}</td></tr>", escape(&v));
    }
    page.push_str("</table>\n");
    if let Some(goose) = &s.goose_report {
        // The field is a path relative to the summary; anything with a scheme could be a
        // `javascript:` link, so it is shown as text instead of followed.
        if goose.contains(':') {
            let _ = writeln!(page, "<p>goose's report: {}</p>", escape(goose));
        } else {
            let _ = writeln!(
                page,
                "<p><a href=\"{0}\">goose's own report ({0})</a></p>",
                escape(goose)
            );
        }
    }
}

fn requests(page: &mut String, s: &Summary) {
    let r = &s.requests;
    page.push_str(
        "<h2>Requests</h2>\n<table>\n<tr><th>answer</th><th>count</th><th>share</th></tr>\n",
    );
    let mut rows: Vec<(String, u64)> = r
        .by_status
        .iter()
        .map(|(status, n)| (format!("HTTP {status}"), *n))
        .collect();
    rows.push(("transport errors".into(), r.transport_errors));
    rows.push(("timeouts".into(), r.timeouts));
    for (label, n) in rows {
        let share = if r.total > 0 {
            percent(n as f64 / r.total as f64)
        } else {
            String::new()
        };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"num\">{n}</td><td class=\"num\">{share}</td></tr>",
            escape(&label)
        );
    }
    let _ = writeln!(
        page,
        "<tr><th>total</th><th class=\"num\">{}</th><th></th></tr>\n</table>",
        r.total
    );
    let _ = writeln!(
        page,
        "<p>Re-sent updates: {}; 2xx answers saying <code>duplicate</code>: {}.</p>",
        r.resent, r.duplicates_answered
    );
}

fn metrics(page: &mut String, metrics: &std::collections::BTreeMap<String, MetricStats>) {
    page.push_str("<h2>Metrics</h2>\n");
    if metrics.is_empty() {
        page.push_str("<p class=\"note\">The summary holds no metrics.</p>\n");
        return;
    }
    page.push_str("<table>\n<tr><th>metric</th><th>statistics</th></tr>\n");
    for (name, stats) in metrics {
        let _ = write!(page, "<tr><td><code>{}</code></td><td>", escape(name));
        for (stat, value) in stats {
            let _ = write!(
                page,
                "<span class=\"stat\">{} <b>{}</b></span>",
                escape(stat),
                num(*value)
            );
        }
        page.push_str("</td></tr>\n");
    }
    page.push_str("</table>\n");
}

fn checks(page: &mut String, s: &Summary) {
    page.push_str("<h2>Checks</h2>\n");
    if s.checks.is_empty() {
        page.push_str("<p class=\"note\">This profile defines no checks.</p>\n");
        return;
    }
    page.push_str(
        "<table>\n<tr><th>check</th><th>passes</th><th>fails</th><th>pass rate</th></tr>\n",
    );
    for c in &s.checks {
        let total = c.passes + c.fails;
        let rate = if total > 0 {
            percent(c.passes as f64 / total as f64)
        } else {
            "–".into()
        };
        let class = if c.fails > 0 { "fail" } else { "pass" };
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num {class}\">{}</td>\
             <td class=\"num\">{rate}</td></tr>",
            escape(&c.name),
            c.passes,
            c.fails
        );
    }
    page.push_str("</table>\n");
}

fn environment(page: &mut String, s: &Summary) {
    if s.environment.is_empty() {
        return;
    }
    page.push_str("<h2>Environment</h2>\n<table>\n");
    for (k, v) in &s.environment {
        let _ = writeln!(
            page,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(k),
            escape(v)
        );
    }
    page.push_str("</table>\n");
}

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number as a reader wants it: integers without decimals, others with a few significant ones.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let text = if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else if v.abs() < 0.001 {
        return format!("{v:.2e}");
    } else {
        format!("{v:.4}")
    };
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn percent(share: f64) -> String {
    format!("{} %", num(share * 100.0))
}
