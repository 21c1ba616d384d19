//! Turns what the recorder and the sampler saw into the run's [`Summary`].

use std::collections::BTreeMap;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::sample::Sample;
use crate::summary::{self, Check, Plan, Second, Summary};

use super::record::Recorder;
use super::state::State;

pub(super) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

pub(super) fn trend(h: &Histogram<u64>) -> BTreeMap<String, f64> {
    if h.is_empty() {
        return BTreeMap::new();
    }
    BTreeMap::from([
        ("avg".into(), h.mean() / 1000.0),
        ("min".into(), ms(h.min())),
        ("med".into(), ms(h.value_at_quantile(0.5))),
        ("max".into(), ms(h.max())),
        ("p(90)".into(), ms(h.value_at_quantile(0.90))),
        ("p(95)".into(), ms(h.value_at_quantile(0.95))),
        ("p(99)".into(), ms(h.value_at_quantile(0.99))),
    ])
}

pub(super) fn rate(passes: u64, total: u64) -> BTreeMap<String, f64> {
    BTreeMap::from([
        (
            "rate".into(),
            if total == 0 {
                0.0
            } else {
                passes as f64 / total as f64
            },
        ),
        ("passes".into(), passes as f64),
        ("fails".into(), (total - passes) as f64),
    ])
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build_summary(
    state: &State,
    target: &str,
    started_at: chrono::DateTime<chrono::Utc>,
    plan_arrivals: u64,
    samples: Vec<(u32, Sample)>,
    environment: BTreeMap<String, String>,
    bots: Vec<String>,
    goose_report: Option<String>,
) -> Summary {
    let rec = state.rec.lock().expect("not poisoned");
    let start = state.start.get().copied().unwrap_or_else(Instant::now);
    let duration_s = rec
        .last_answer
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let mut metrics = request_metrics(&rec, duration_s);
    lock_wait_metrics(&mut metrics, &samples);
    if state.profile.watch_memory {
        memory_metrics(&mut metrics, &rec, &samples);
    }
    Summary {
        tool: summary::TOOL.into(),
        format: summary::FORMAT,
        profile: state.profile.name.into(),
        target: target.into(),
        started_at: started_at.to_rfc3339(),
        duration_s,
        plan: plan(state, plan_arrivals),
        requests: rec.requests.clone(),
        metrics,
        checks: checks(&rec),
        timeseries: timeseries(&rec, samples),
        ledger: Some("ledger.csv".into()),
        bots,
        ordering: None,
        goose_report,
        environment,
    }
}

type Metrics = BTreeMap<String, BTreeMap<String, f64>>;

/// Requests, latencies, failures, refusals, drops and checks, k6's names.
fn request_metrics(rec: &Recorder, duration_s: f64) -> Metrics {
    let total = rec.requests.total;
    let mut metrics = BTreeMap::new();
    metrics.insert(
        "http_reqs".into(),
        BTreeMap::from([
            ("count".into(), total as f64),
            ("rate".into(), total as f64 / duration_s.max(1e-9)),
        ]),
    );
    metrics.insert("http_req_duration".into(), trend(&rec.corrected));
    metrics.insert("http_req_duration_raw".into(), trend(&rec.raw));
    metrics.insert("http_req_failed".into(), rate(rec.failed, total));
    metrics.insert("http_req_limited".into(), rate(rec.limited, total));
    metrics.insert(
        "dropped_iterations".into(),
        BTreeMap::from([
            ("count".into(), rec.dropped as f64),
            ("rate".into(), rec.dropped as f64 / duration_s.max(1e-9)),
        ]),
    );
    let (passes, fails) = rec
        .checks
        .values()
        .fold((0, 0), |(p, f), (cp, cf)| (p + cp, f + cf));
    metrics.insert("checks".into(), rate(passes, passes + fails));
    if rec.quiet.1 > 0 {
        metrics.insert("flood_quiet_ok".into(), rate(rec.quiet.0, rec.quiet.1));
    }
    if rec.flood.1 > 0 {
        metrics.insert("flood_limited".into(), rate(rec.flood.0, rec.flood.1));
    }
    metrics
}

/// Postgres lock waits, when the sampler could see them.
fn lock_wait_metrics(metrics: &mut Metrics, samples: &[(u32, Sample)]) {
    let lock_samples: Vec<u64> = samples.iter().filter_map(|(_, s)| s.lock_waits).collect();
    let waits_seen = samples
        .iter()
        .filter_map(|(_, s)| s.lock_waits_seen)
        .max()
        .unwrap_or(0);
    if !lock_samples.is_empty() {
        metrics.insert(
            "db_lock_waits".into(),
            BTreeMap::from([
                ("count".into(), waits_seen as f64),
                (
                    "max".into(),
                    *lock_samples.iter().max().unwrap_or(&0) as f64,
                ),
            ]),
        );
    }
}

/// The api's RSS growth and Redis's bytes per accepted update (profiles that watch memory).
fn memory_metrics(metrics: &mut Metrics, rec: &Recorder, samples: &[(u32, Sample)]) {
    if let Some(g) = rss_growth(samples, "api") {
        metrics.insert(
            "api_rss_growth".into(),
            BTreeMap::from([("ratio".into(), g)]),
        );
    }
    let ok = rec.requests.answered_2xx();
    let redis: Vec<u64> = samples
        .iter()
        .filter_map(|(_, s)| s.redis_used_memory)
        .collect();
    if let (Some(first), Some(last)) = (redis.first(), redis.last())
        && ok > 0
    {
        metrics.insert(
            "redis_bytes_per_update".into(),
            BTreeMap::from([("value".into(), (*last as f64 - *first as f64) / ok as f64)]),
        );
    }
}

/// One entry a second: answers and latencies from the recorder, the rest from the samples.
fn timeseries(rec: &Recorder, samples: Vec<(u32, Sample)>) -> Vec<Second> {
    let seconds = rec.seconds.len().max(
        samples
            .iter()
            .map(|(t, _)| *t as usize + 1)
            .max()
            .unwrap_or(0),
    );
    let mut timeseries: Vec<Second> = (0..seconds)
        .map(|t| Second {
            t: t as u32,
            ..Default::default()
        })
        .collect();
    for (t, s) in rec.seconds.iter().enumerate() {
        timeseries[t].by_status = s.by_status.clone();
        if let Some(h) = &s.hist {
            timeseries[t].p50_ms = Some(ms(h.value_at_quantile(0.5)));
            timeseries[t].p95_ms = Some(ms(h.value_at_quantile(0.95)));
            timeseries[t].p99_ms = Some(ms(h.value_at_quantile(0.99)));
        }
    }
    for (t, s) in samples {
        let slot = &mut timeseries[t as usize];
        slot.queue_depth = s.queue_depth;
        slot.rss_bytes = s.rss_bytes;
        slot.redis_used_memory = s.redis_used_memory;
        slot.lock_waits = s.lock_waits;
    }
    timeseries
}

fn plan(state: &State, arrivals: u64) -> Plan {
    Plan {
        shape: if state.retry_refused > 0 {
            format!(
                "{}; refused updates re-sent after Retry-After, up to {} times",
                state.profile.describe(),
                state.retry_refused
            )
        } else {
            state.profile.describe()
        },
        arrivals,
        duration_s: state.profile.duration.as_secs_f64(),
        resend_share: state.profile.resend_share,
    }
}

fn checks(rec: &Recorder) -> Vec<Check> {
    rec.checks
        .iter()
        .map(|(name, (p, f))| Check {
            name: (*name).into(),
            passes: *p,
            fails: *f,
        })
        .collect()
}

/// (mean RSS over the last quarter / mean over the first quarter) - 1, after a warm-up of 60 s
/// or a quarter of the run, whichever is shorter.
pub(super) fn rss_growth(samples: &[(u32, Sample)], name: &str) -> Option<f64> {
    let series: Vec<(u32, u64)> = samples
        .iter()
        .filter_map(|(t, s)| s.rss_bytes.get(name).map(|b| (*t, *b)))
        .collect();
    let end = series.last()?.0;
    let warm = 60.min(end / 4);
    let span = end.saturating_sub(warm);
    if span < 4 {
        return None;
    }
    let mean = |from: u32, to: u32| {
        let v: Vec<u64> = series
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, b)| *b)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<u64>() as f64 / v.len() as f64)
    };
    let first = mean(warm, warm + span / 4)?;
    let last = mean(end - span / 4, end + 1)?;
    Some(last / first - 1.0)
}

pub(super) fn environment() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if let Ok(h) = hostname::get() {
        env.insert("host".into(), h.to_string_lossy().into_owned());
    }
    env.insert(
        "cores".into(),
        std::thread::available_parallelism()
            .map(|n| n.get().to_string())
            .unwrap_or_default(),
    );
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        env.insert(
            "loadavg_at_start".into(),
            l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        );
    }
    env.insert("sluice_load".into(), env!("CARGO_PKG_VERSION").into());
    env
}
