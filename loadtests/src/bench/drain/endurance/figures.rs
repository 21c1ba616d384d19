//! (e)'s arithmetic: from the samples, wrk's summary and the Redis readings to the JSON figures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::bench::drain::{host::MachineLoad, redis_probe::KeyInfo};

/// One line of `endurance.tsv`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub seconds: f64,
    pub used_memory: u64,
    pub dbsize: u64,
    pub api_rss_kib: u64,
    pub worker_rss_kib: u64,
    pub backlog: u64,
    pub rows: u64,
}

pub const TSV_HEADER: &str = "seconds used_memory dbsize api_rss_kib worker_rss_kib backlog rows";

impl Sample {
    pub fn tsv(&self) -> String {
        let s = self;
        format!(
            "{} {} {} {} {} {} {}",
            s.seconds, s.used_memory, s.dbsize, s.api_rss_kib, s.worker_rss_kib, s.backlog, s.rows
        )
    }

    /// `endurance.tsv` read back (the tests check the written form).
    #[cfg(test)]
    pub fn parse_tsv(text: &str) -> Vec<Sample> {
        let number =
            |f: &[&str], i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        text.lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Sample {
                    seconds: number(&f, 0),
                    used_memory: number(&f, 1) as u64,
                    dbsize: number(&f, 2) as u64,
                    api_rss_kib: number(&f, 3) as u64,
                    worker_rss_kib: number(&f, 4) as u64,
                    backlog: number(&f, 5) as u64,
                    rows: number(&f, 6) as u64,
                }
            })
            .collect()
    }
}

/// The `@@bench {json}` line update.lua prints at the end (latencies in µs).
#[derive(Debug, Clone, Deserialize)]
pub struct WrkLine {
    pub requests: u64,
    pub rps: f64,
    pub lat_us: WrkLatency,
    pub non_2xx_3xx: u64,
    pub socket_errors: SocketErrors,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WrkLatency {
    pub p99: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SocketErrors {
    pub connect: u64,
    pub read: u64,
    pub write: u64,
    pub timeout: u64,
}

impl WrkLine {
    /// The `@@bench` line of wrk's output.
    pub fn find(output: &str) -> Option<WrkLine> {
        output
            .lines()
            .find_map(|l| serde_json::from_str(l.strip_prefix("@@bench ")?).ok())
    }
}

/// Redis before the traffic, after it, and after the idempotency keys were deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Three<T> {
    pub before: T,
    pub after: T,
    pub dropped: T,
}

/// Everything (e) read, before the arithmetic.
pub struct Readings {
    pub command: String,
    pub redis: String,
    pub scrape: bool,
    pub slow_statements: u64,
    pub samples: Vec<Sample>,
    pub wrk: WrkLine,
    pub rows: u64,
    pub used_memory: Three<u64>,
    pub dbsize: Three<u64>,
    pub info_memory: Three<BTreeMap<String, u64>>,
    pub keys_before: BTreeMap<String, KeyInfo>,
    pub keys_left: BTreeMap<String, KeyInfo>,
    pub idempotency_keys: u64,
    pub key_bytes: u64,
    pub ttl_left_s: i64,
    pub bookkeeping: Bookkeeping,
    pub machine: MachineLoad,
}

fn mb(bytes: f64) -> f64 {
    (bytes / 1_048_576.0 * 100.0).round() / 100.0
}

fn rss_mb(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Wrk {
    pub requests: u64,
    pub rps: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
    pub socket_errors: SocketErrors,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Span<T> {
    pub before: T,
    pub after: T,
    pub max: T,
    pub after_dropping_idempotency_keys: T,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IdempotencyKeys {
    pub count: u64,
    pub memory_usage_bytes_each: u64,
    pub ttl_left_s: i64,
    pub mb_total: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct InfoMemory {
    pub before: BTreeMap<String, u64>,
    pub after: BTreeMap<String, u64>,
    pub after_dropping_idempotency_keys: BTreeMap<String, u64>,
}

/// What is left of finished jobs: apalis's data hash and done set entries, and the vacuum.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bookkeeping {
    pub data_hash_entries: u64,
    pub done_set_entries: u64,
    pub vacuumed_total: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Rss {
    pub before: f64,
    pub after: f64,
    pub max: f64,
}

impl Rss {
    fn of(samples: &[Sample], kib: impl Fn(&Sample) -> u64) -> Rss {
        Rss {
            before: rss_mb(samples.first().map_or(0, &kib)),
            after: rss_mb(samples.last().map_or(0, &kib)),
            max: rss_mb(samples.iter().map(&kib).max().unwrap_or(0)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EnduranceFigures {
    pub command: String,
    pub redis: String,
    pub samples: u64,
    pub metrics_scraped_every_sample: bool,
    pub worker_slow_statements: u64,
    pub wrk: Wrk,
    pub accepted: u64,
    pub rows: u64,
    pub lost: i64,
    pub used_memory_mb: Span<f64>,
    pub dbsize: Span<u64>,
    pub growth_bytes_per_update: Option<f64>,
    pub idempotency_keys: IdempotencyKeys,
    pub residual_after_dropping_keys_bytes: i64,
    pub info_memory: InfoMemory,
    pub keys_before: BTreeMap<String, KeyInfo>,
    pub keys_left_after_dropping_idempotency_keys: BTreeMap<String, KeyInfo>,
    pub finished_job_bookkeeping_left: Bookkeeping,
    pub api_rss_mb: Rss,
    pub worker_rss_mb: Rss,
    pub backlog_max: u64,
    pub machine: MachineLoad,
}

impl EnduranceFigures {
    pub fn of(r: Readings) -> EnduranceFigures {
        let accepted = r.wrk.requests.saturating_sub(r.wrk.non_2xx_3xx);
        let (mem, s) = (r.used_memory, &r.samples);
        EnduranceFigures {
            command: r.command,
            redis: r.redis,
            samples: s.len() as u64,
            metrics_scraped_every_sample: r.scrape,
            worker_slow_statements: r.slow_statements,
            wrk: Wrk {
                requests: r.wrk.requests,
                rps: r.wrk.rps,
                p99_ms: r.wrk.lat_us.p99 / 1000.0,
                non_2xx: r.wrk.non_2xx_3xx,
                socket_errors: r.wrk.socket_errors,
            },
            accepted,
            rows: r.rows,
            lost: accepted as i64 - r.rows as i64,
            used_memory_mb: Span {
                before: mb(mem.before as f64),
                after: mb(mem.after as f64),
                max: mb(s.iter().map(|x| x.used_memory).max().unwrap_or(0) as f64),
                after_dropping_idempotency_keys: mb(mem.dropped as f64),
            },
            dbsize: Span {
                before: r.dbsize.before,
                after: r.dbsize.after,
                max: s.iter().map(|x| x.dbsize).max().unwrap_or(0),
                after_dropping_idempotency_keys: r.dbsize.dropped,
            },
            growth_bytes_per_update: (accepted > 0)
                .then(|| ((mem.after as f64 - mem.before as f64) / accepted as f64).round()),
            idempotency_keys: IdempotencyKeys {
                count: r.idempotency_keys,
                memory_usage_bytes_each: r.key_bytes,
                ttl_left_s: r.ttl_left_s,
                mb_total: mb((r.idempotency_keys * r.key_bytes) as f64),
            },
            residual_after_dropping_keys_bytes: mem.dropped as i64 - mem.before as i64,
            info_memory: InfoMemory {
                before: r.info_memory.before,
                after: r.info_memory.after,
                after_dropping_idempotency_keys: r.info_memory.dropped,
            },
            keys_before: r.keys_before,
            keys_left_after_dropping_idempotency_keys: r.keys_left,
            finished_job_bookkeeping_left: r.bookkeeping,
            api_rss_mb: Rss::of(s, |x| x.api_rss_kib),
            worker_rss_mb: Rss::of(s, |x| x.worker_rss_kib),
            backlog_max: s.iter().map(|x| x.backlog).max().unwrap_or(0),
            machine: r.machine,
        }
    }
}
