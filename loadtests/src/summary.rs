//! The summary every `sluice-load run` writes (`summary.json`), and the delivery ledger beside it.
//!
//! `metrics` uses k6's names and the newer k6 layout (statistics directly on the metric), so the
//! gate reads our summaries and k6's through one path.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What identifies a summary written by us (k6 exports have no `tool`).
pub const TOOL: &str = "sluice-load";
/// Bumped when a field changes meaning.
pub const FORMAT: u32 = 1;

/// Statistics of one metric, k6-style: `avg`, `min`, `med`, `max`, `p(90)`, `p(95)`, `p(99)` for
/// a trend; `rate` (plus `passes`/`fails`) for a rate; `count` and `rate` (per second) for a
/// counter; `value` (plus `min`/`max`) for a gauge.
pub type MetricStats = BTreeMap<String, f64>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub tool: String,
    pub format: u32,
    pub profile: String,
    /// Base URL the updates went to.
    pub target: String,
    /// RFC 3339, when the first arrival was due.
    pub started_at: String,
    /// Seconds from the first due arrival to the last answer.
    pub duration_s: f64,
    /// What the profile asked for.
    pub plan: Plan,
    pub requests: Requests,
    /// k6 names: `http_reqs` {count, rate}, `http_req_duration` (ms, measured from the moment the
    /// request was due: coordinated omission corrected), `http_req_duration_raw` (ms, from the
    /// moment it was sent), `http_req_failed` {rate, passes, fails}, `dropped_iterations` {count},
    /// `checks` {rate, passes, fails}; and ours: `http_req_limited` {rate} (429s),
    /// `db_lock_waits` {count, max}, `api_rss_growth` {ratio}, `redis_bytes_per_update` {value},
    /// and per-profile rates such as `flood_quiet_ok`, `flood_limited`.
    pub metrics: BTreeMap<String, MetricStats>,
    pub checks: Vec<Check>,
    /// One entry per second of the run.
    pub timeseries: Vec<Second>,
    /// The ledger's file name, relative to the summary (None when the run kept none).
    pub ledger: Option<String>,
    /// Bots the run posted to (their names are the `bot` column of `updates`).
    pub bots: Vec<String>,
    /// `chat`, `telegram` or `off`: the per-chat ordering the target was run with, which the
    /// gate's ordering check verifies (absent in summaries written before the check).
    #[serde(default)]
    pub ordering: Option<String>,
    /// goose's own HTML report, relative to the summary, when written.
    pub goose_report: Option<String>,
    /// Environment facts worth keeping with the figures (host, cores, load average at start).
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Plan {
    /// Human description of the arrival-rate shape, e.g. "100/s for 60 s".
    pub shape: String,
    /// Arrivals the open model scheduled (original updates, not counting re-sends).
    pub arrivals: u64,
    /// Planned duration in seconds.
    pub duration_s: f64,
    /// Share of updates re-sent (the `duplicate` profile).
    pub resend_share: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Requests {
    pub total: u64,
    /// Answers by HTTP status ("200", "429", ...); transport errors and timeouts are not here.
    pub by_status: BTreeMap<String, u64>,
    pub transport_errors: u64,
    pub timeouts: u64,
    /// 2xx answers whose body said `"duplicate":true`.
    pub duplicates_answered: u64,
    /// Requests that re-sent an update already sent (as Telegram does after a timeout).
    pub resent: u64,
}

impl Requests {
    /// Requests answered with a 2xx status.
    pub fn answered_2xx(&self) -> u64 {
        self.by_status
            .iter()
            .filter(|(status, _)| status.starts_with('2'))
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub passes: u64,
    pub fails: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the start of the run.
    pub t: u32,
    /// Requests answered (or failed) in this second, by status; "error" for transport errors and
    /// timeouts.
    pub by_status: BTreeMap<String, u64>,
    /// Latency percentiles (ms, corrected) of the requests answered in this second.
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// `sluice_queue_depth` read from the metrics endpoint: "lane:state" -> value.
    pub queue_depth: BTreeMap<String, f64>,
    /// Resident memory of each watched process ("api", "worker", ...), bytes.
    pub rss_bytes: BTreeMap<String, u64>,
    /// Redis `used_memory`, bytes.
    pub redis_used_memory: Option<u64>,
    /// Postgres sessions waiting on a lock when sampled.
    pub lock_waits: Option<u64>,
}

impl Summary {
    pub fn read(path: &Path) -> anyhow::Result<Summary> {
        let text = std::fs::read_to_string(path)?;
        Ok(serde_json::from_str(&text)?)
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")?;
        Ok(())
    }
}

/// One request as the ledger records it: enough to prove delivery afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub bot: String,
    pub update_id: i64,
    /// HTTP status, 0 for a transport error or timeout.
    pub status: u16,
    /// True when this request re-sent an update already sent.
    pub resend: bool,
    /// When the request was sent and its answer arrived, in microseconds from the run's start:
    /// the order updates of a chat were acknowledged in (the ordering check). None in ledgers
    /// written before these columns.
    pub sent_us: Option<u64>,
    pub answered_us: Option<u64>,
}

/// The ledger is CSV with a header: `bot,update_id,status,resend,sent_us,answered_us` (resend is
/// 0 or 1; a time is empty when unknown). Bot names are `[A-Za-z0-9_-]`, so no quoting is ever
/// needed.
pub const LEDGER_HEADER: &str = "bot,update_id,status,resend,sent_us,answered_us";
/// The header of ledgers written before the times were kept (still read).
pub const LEDGER_HEADER_V1: &str = "bot,update_id,status,resend";

pub fn write_ledger(path: &Path, entries: &[LedgerEntry]) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "{LEDGER_HEADER}")?;
    for e in entries {
        writeln!(
            out,
            "{},{},{},{},{},{}",
            e.bot,
            e.update_id,
            e.status,
            u8::from(e.resend),
            opt(e.sent_us),
            opt(e.answered_us),
        )?;
    }
    out.flush()?;
    Ok(())
}

pub fn read_ledger(path: &Path) -> anyhow::Result<Vec<LedgerEntry>> {
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut entries = Vec::new();
    let mut fields = 0;
    for (n, line) in file.lines().enumerate() {
        let line = line?;
        if n == 0 {
            fields = match line.as_str() {
                LEDGER_HEADER => 6,
                LEDGER_HEADER_V1 => 4,
                _ => anyhow::bail!("{}: not a sluice-load ledger", path.display()),
            };
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        anyhow::ensure!(
            f.len() == fields,
            "{}:{}: expected {fields} fields",
            path.display(),
            n + 1
        );
        let time = |i: usize| -> anyhow::Result<Option<u64>> {
            match f.get(i) {
                None | Some(&"") => Ok(None),
                Some(t) => Ok(Some(t.parse()?)),
            }
        };
        entries.push(LedgerEntry {
            bot: f[0].to_owned(),
            update_id: f[1].parse()?,
            status: f[2].parse()?,
            resend: f[3] == "1",
            sent_us: time(4)?,
            answered_us: time(5)?,
        });
    }
    Ok(entries)
}

fn opt(t: Option<u64>) -> String {
    t.map(|t| t.to_string()).unwrap_or_default()
}
