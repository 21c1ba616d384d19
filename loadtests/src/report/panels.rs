//! Which charts a run's per-second samples allow, and the lines each one plots. A chart whose
//! data the run did not collect becomes a note saying so, never an empty frame.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use plotters::style::RGBColor;

mod queue;

use super::escape;
use super::plot::{Chart, Series};
use crate::summary::Second;

// Okabe-Ito: told apart by colour-blind readers too.
const BLUE: RGBColor = RGBColor(0, 114, 178);
const ORANGE: RGBColor = RGBColor(230, 159, 0);
const GREEN: RGBColor = RGBColor(0, 158, 115);
const VERMILLION: RGBColor = RGBColor(213, 94, 0);
const PURPLE: RGBColor = RGBColor(204, 121, 167);
const SKY: RGBColor = RGBColor(86, 180, 233);
const BLACK: RGBColor = RGBColor(0, 0, 0);
const GREY: RGBColor = RGBColor(128, 128, 128);
const PALETTE: [RGBColor; 8] = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY, BLACK, GREY];

/// Throughput classes, in legend order: the ones a reader of a webhook ingress asks about.
const CLASSES: [(&str, RGBColor); 5] = [
    ("2xx", GREEN),
    ("429", ORANGE),
    ("503", VERMILLION),
    ("other status", PURPLE),
    ("errors", BLACK),
];
/// Queue states that are work still to do (`dead` is not: nothing will process it).
const MIB: f64 = 1024.0 * 1024.0;

pub(super) enum Panel {
    Chart(Chart, &'static str),
    Absent(&'static str, &'static str),
}

impl Panel {
    pub(super) fn render(&self, page: &mut String) {
        match self {
            Panel::Chart(chart, caption) => match chart.svg() {
                Ok(svg) => {
                    let _ = writeln!(
                        page,
                        "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>",
                        escape(caption)
                    );
                }
                Err(e) => absent(page, chart.title, &format!("could not be drawn: {e:#}")),
            },
            Panel::Absent(title, note) => absent(page, title, note),
        }
    }
}

fn absent(page: &mut String, title: &str, note: &str) {
    let _ = writeln!(
        page,
        "<p class=\"note\"><b>{}</b>: {}</p>",
        escape(title),
        escape(note)
    );
}

pub(super) fn panels(timeseries: &[Second]) -> Vec<Panel> {
    let mut ts: Vec<&Second> = timeseries.iter().collect();
    ts.sort_by_key(|s| s.t);
    let mut out = vec![latency(&ts), throughput(&ts)];
    out.extend(queue::queue(&ts));
    out.push(memory(&ts));
    out.push(lock_waits(&ts));
    out
}

fn series(
    name: impl Into<String>,
    color: RGBColor,
    ts: &[&Second],
    f: impl Fn(&Second) -> Option<f64>,
) -> Series {
    Series {
        name: name.into(),
        color,
        points: ts.iter().map(|s| (f64::from(s.t), f(s))).collect(),
    }
}

fn has_samples(series: &[Series]) -> bool {
    series
        .iter()
        .any(|s| s.points.iter().any(|(_, v)| v.is_some()))
}

fn latency(ts: &[&Second]) -> Panel {
    const TITLE: &str = "Latency percentiles";
    let lines = vec![
        series("p50", BLUE, ts, |s| s.p50_ms),
        series("p95", ORANGE, ts, |s| s.p95_ms),
        series("p99", VERMILLION, ts, |s| s.p99_ms),
    ];
    if !has_samples(&lines) {
        return Panel::Absent(TITLE, "no request was answered during the run.");
    }
    Panel::Chart(
        Chart {
            title: TITLE,
            y_desc: "latency (ms)",
            counts: false,
            series: lines,
        },
        "Percentiles of the requests answered in each second, measured from the moment each \
         request was due (corrected for coordinated omission).",
    )
}

/// Which of `CLASSES` an entry of `Second::by_status` counts in.
fn class(status: &str) -> usize {
    match (status, status.parse::<u16>()) {
        ("429", _) => 1,
        ("503", _) => 2,
        (_, Ok(200..=299)) => 0,
        (_, Ok(_)) => 3,
        (_, Err(_)) => 4,
    }
}

fn throughput(ts: &[&Second]) -> Panel {
    const TITLE: &str = "Throughput by status";
    if ts.is_empty() {
        return Panel::Absent(TITLE, "the summary holds no per-second samples.");
    }
    let per_class = |s: &Second, c: usize| {
        let n: u64 = s
            .by_status
            .iter()
            .filter(|(k, _)| class(k) == c)
            .map(|(_, n)| n)
            .sum();
        Some(n as f64)
    };
    let lines = CLASSES
        .iter()
        .enumerate()
        // 2xx always; the others only when they happened, so a clean run has one clear line.
        .filter(|(c, _)| *c == 0 || ts.iter().any(|s| per_class(s, *c) > Some(0.0)))
        .map(|(c, (name, color))| series(*name, *color, ts, |s| per_class(s, c)))
        .collect();
    Panel::Chart(
        Chart {
            title: TITLE,
            y_desc: "requests per second",
            counts: true,
            series: lines,
        },
        "Requests answered (or failed) in each second by status class; errors are transport \
         errors and timeouts. Classes that never occurred are left out.",
    )
}

fn memory(ts: &[&Second]) -> Panel {
    const TITLE: &str = "Memory";
    let procs: BTreeSet<&str> = ts
        .iter()
        .flat_map(|s| s.rss_bytes.keys())
        .map(String::as_str)
        .collect();
    let mut lines: Vec<Series> = procs
        .into_iter()
        .map(|p| {
            series(format!("{p} RSS"), BLACK, ts, |s| {
                s.rss_bytes.get(p).map(|b| *b as f64 / MIB)
            })
        })
        .collect();
    lines.push(series("Redis used_memory", BLACK, ts, |s| {
        s.redis_used_memory.map(|b| b as f64 / MIB)
    }));
    lines.retain(|s| s.points.iter().any(|(_, v)| v.is_some()));
    for (line, color) in lines.iter_mut().zip(PALETTE) {
        line.color = color;
    }
    if lines.is_empty() {
        return Panel::Absent(TITLE, "the run did not sample process RSS or Redis memory.");
    }
    Panel::Chart(
        Chart {
            title: TITLE,
            y_desc: "MiB",
            counts: false,
            series: lines,
        },
        "Resident memory of each watched process and Redis used_memory, sampled every second.",
    )
}

fn lock_waits(ts: &[&Second]) -> Panel {
    const TITLE: &str = "Postgres lock waits";
    let lines = vec![series("sessions waiting", BLUE, ts, |s| {
        s.lock_waits.map(|n| n as f64)
    })];
    if !has_samples(&lines) {
        return Panel::Absent(TITLE, "the run did not sample pg_stat_activity.");
    }
    Panel::Chart(
        Chart {
            title: TITLE,
            y_desc: "sessions",
            counts: true,
            series: lines,
        },
        "Postgres sessions waiting on a lock when sampled (pg_stat_activity).",
    )
}
