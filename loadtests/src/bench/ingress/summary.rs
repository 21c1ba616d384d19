//! The run's JSON summary, `ingress-<timestamp>.json`: its keys and their meaning are those the
//! bash script wrote (a fixture from that script checks the shape). Latencies in ms, CPU per
//! 1000 requests in ms, memory in MB; `null` where a figure has no denominator.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::drain::{DrainPhase, WorkerSettings};
pub use super::machine::Machine;
use crate::bench::wrk::SocketErrors;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub timestamp: String,
    pub queue_prefix: String,
    pub machine: Machine,
    pub api_settings: ApiSettings,
    /// The wrk commands of (a), (b) and (c).
    pub commands: Commands,
    pub reference: Reference,
    pub sluice_api: SluiceApi,
    /// (b)'s requests/s over (a)'s: the figure that carries over to other machines.
    pub ratio_b_over_a: f64,
    pub fixed_rate: FixedRate,
    pub api_rss_mb: ApiRss,
    pub non_2xx_total: u64,
    pub socket_errors_total: u64,
    pub where_the_time_goes: WhereTheTimeGoes,
    pub drain: Drain,
    pub targets: Targets,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiSettings {
    #[serde(rename = "SLUICE_RATE_SCOPE")]
    pub rate_scope: String,
    /// `high=…,normal=…,low=…`.
    #[serde(rename = "SLUICE_SHED_DEPTH")]
    pub shed_depth: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commands {
    pub reference: String,
    pub sluice_api: String,
    /// `BENCH_RATE=<rate> wrk …`.
    pub fixed_rate: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub cpu_ms_per_1k_requests: Option<f64>,
    pub rss_max_mb: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SluiceApi {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub non_2xx: u64,
    pub socket_errors: SocketErrors,
    pub mean_body_bytes: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedRate {
    pub target_rps: u64,
    pub achieved_rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub non_2xx: u64,
    /// The reference server at the same rate.
    pub reference: FixedRateReference,
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedRateReference {
    pub achieved_rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiRss {
    /// After the first update, before the load.
    pub idle: f64,
    pub max_b: f64,
    pub max_c: f64,
    pub max: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhereTheTimeGoes {
    pub b: CostsB,
    pub c: CostsC,
    pub a: CostsA,
    pub cpu_seconds: CpuSeconds,
}

/// A Redis command's calls per request and its mean duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CallRate {
    pub per_request: f64,
    pub usec_per_call: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostsB {
    pub redis_cpu_ms_per_1k_enqueues: Option<f64>,
    pub api_cpu_ms_per_1k_requests: Option<f64>,
    pub reference_cpu_ms_per_1k_requests: Option<f64>,
    pub wrk_cpu_ms_per_1k_requests: Option<f64>,
    pub machine_busy_ms_per_1k_requests: Option<f64>,
    pub machine_busy_percent: i64,
    pub redis_bytes_per_job: Option<i64>,
    pub jobs_queued: i64,
    /// (b)'s 2xx/3xx answers.
    pub accepted: u64,
    pub redis_calls: BTreeMap<String, CallRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostsC {
    pub redis_cpu_ms_per_1k_enqueues: Option<f64>,
    pub api_cpu_ms_per_1k_requests: Option<f64>,
    pub redis_calls: BTreeMap<String, CallRate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostsA {
    pub machine_busy_percent: i64,
    pub wrk_cpu_ms_per_1k_requests: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuSeconds {
    pub a: CpuSplit,
    pub b: CpuSplit,
    pub c: CpuSplit,
    pub cref: CpuSplit,
}

/// A phase's CPU seconds by who used them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuSplit {
    pub server: f64,
    pub redis: f64,
    pub wrk: f64,
    pub other: f64,
    pub machine: f64,
}

/// Phase (d) with its headline figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drain {
    #[serde(flatten)]
    pub phase: DrainPhase,
    pub updates_per_s: f64,
    pub updates_per_s_middle_80: f64,
    pub worker_cpu_ms_per_1k: Option<f64>,
    pub redis_cpu_ms_per_1k: Option<f64>,
    pub worker_rss_max_mb: f64,
}

/// Issue 2's targets, which the printed summary checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    pub ratio_min: f64,
    pub fixed_rate_p99_ms_max: f64,
    pub rss_mb_max: f64,
    pub non_2xx: u64,
}

impl Targets {
    pub const ISSUE_2: Targets = Targets {
        ratio_min: 0.25,
        fixed_rate_p99_ms_max: 5.0,
        rss_mb_max: 50.0,
        non_2xx: 0,
    };
}
