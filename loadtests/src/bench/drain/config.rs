//! The drain benchmark's settings: every knob a flag and an environment variable (the names
//! `loadtests/bench/drain/run` always documented), parsed once; a bad value stops the run with
//! one line naming the variable.

use std::{collections::BTreeSet, net::SocketAddr, path::PathBuf, str::FromStr};

use serde::{Deserialize, Serialize};

use super::mix::LaneMix;

/// `sluice-load bench drain`: the worker benchmark (phases a-e, see `bench/drain/README.md`).
#[derive(clap::Args, Debug, Clone)]
pub struct DrainArgs {
    /// Phases to run, of "a b c d e" ((c) needs (b), the ratios need (a)).
    #[arg(
        long,
        env = "BENCH_PHASES",
        value_name = "BENCH_PHASES",
        default_value = "a b c d e"
    )]
    pub phases: Phases,
    /// Postgres server URL without a database.
    #[arg(
        long,
        env = "BENCH_PG_URL",
        value_name = "BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432"
    )]
    pub pg_url: String,
    /// The database to (re)create and drop: letters, digits and _ only.
    #[arg(long, env = "BENCH_DB", value_name = "BENCH_DB", default_value = "sluice_drain_bench",
          value_parser = parse_db_name)]
    pub db: String,
    /// The (shared) Redis of (a)-(d).
    #[arg(
        long,
        env = "REDIS_URL",
        value_name = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// Backlog of (b) and (c), split by the lane mix.
    #[arg(long, env = "BENCH_BACKLOG", value_name = "BENCH_BACKLOG", default_value_t = 100_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub backlog: u64,
    /// Percent per lane of the (b)/(c) backlog.
    #[arg(
        long,
        env = "BENCH_LANE_MIX",
        value_name = "BENCH_LANE_MIX",
        default_value = "high=20,normal=70,low=10"
    )]
    pub lane_mix: LaneMix,
    /// Worker counts of (b) (the 1) and (c) (the others), 1 to 3.
    #[arg(
        long,
        env = "BENCH_WORKERS",
        value_name = "BENCH_WORKERS",
        default_value = "1 2 3"
    )]
    pub workers: WorkerCounts,
    /// Bound of each drain in seconds (30 s without progress is a stall).
    #[arg(
        long,
        env = "BENCH_DRAIN_TIMEOUT_S",
        value_name = "BENCH_DRAIN_TIMEOUT_S",
        default_value_t = 600
    )]
    pub drain_timeout_s: u64,
    /// (a): pgbench clients.
    #[arg(long, env = "PGBENCH_CLIENTS", value_name = "PGBENCH_CLIENTS", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub pgbench_clients: u32,
    /// (a): pgbench threads.
    #[arg(long, env = "PGBENCH_JOBS", value_name = "PGBENCH_JOBS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub pgbench_jobs: u32,
    /// (a): pgbench duration in seconds.
    #[arg(long, env = "PGBENCH_DURATION", value_name = "PGBENCH_DURATION", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub pgbench_duration: u64,
    /// (a): pgbench query mode.
    #[arg(long, env = "PGBENCH_MODE", value_name = "PGBENCH_MODE", default_value = "prepared",
          value_parser = ["simple", "extended", "prepared"])]
    pub pgbench_mode: String,
    /// (d): low updates queued before the high traffic.
    #[arg(long, env = "BENCH_LOW_BACKLOG", value_name = "BENCH_LOW_BACKLOG", default_value_t = 300_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub low_backlog: u64,
    /// (d): high updates per second through sluice-api.
    #[arg(long, env = "BENCH_HIGH_RATE", value_name = "BENCH_HIGH_RATE", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub high_rate: u64,
    /// (d): how many seconds of high updates.
    #[arg(long, env = "BENCH_HIGH_SECONDS", value_name = "BENCH_HIGH_SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub high_seconds: u64,
    /// (e): seconds of traffic.
    #[arg(long, env = "BENCH_ENDURANCE_S", value_name = "BENCH_ENDURANCE_S", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub endurance_s: u64,
    /// (e): requests per second (update.lua's BENCH_RATE).
    #[arg(long, env = "BENCH_ENDURANCE_RATE", value_name = "BENCH_ENDURANCE_RATE", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub endurance_rate: u64,
    /// (e): seconds between samples.
    #[arg(long, env = "BENCH_SAMPLE_S", value_name = "BENCH_SAMPLE_S", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub sample_s: u64,
    /// (e): scrape the api's and worker's /metrics at every sample, as Prometheus would (1 or 0).
    #[arg(long, env = "BENCH_SCRAPE", value_name = "BENCH_SCRAPE", default_value = "1",
          value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub scrape: bool,
    /// (e)'s Redis: `private` (a redis-server of our own, so used_memory is ours alone) or `shared`.
    #[arg(long, env = "BENCH_ENDURANCE_REDIS", value_name = "BENCH_ENDURANCE_REDIS", default_value = "private",
          value_parser = ["private", "shared"])]
    pub endurance_redis: String,
    /// (e): port of the private redis-server.
    #[arg(
        long,
        env = "BENCH_REDIS_PORT",
        value_name = "BENCH_REDIS_PORT",
        default_value_t = 16391
    )]
    pub redis_port: u16,
    /// sluice-api's webhook listener.
    #[arg(
        long,
        env = "BENCH_API_ADDR",
        value_name = "BENCH_API_ADDR",
        default_value = "127.0.0.1:18181"
    )]
    pub api_addr: SocketAddr,
    /// sluice-api's admin listener (readiness, metrics).
    #[arg(
        long,
        env = "BENCH_API_ADMIN",
        value_name = "BENCH_API_ADMIN",
        default_value = "127.0.0.1:19190"
    )]
    pub api_admin: SocketAddr,
    /// First worker admin port (workers use this and the two next ones).
    #[arg(long, env = "BENCH_WORKER_PORT", value_name = "BENCH_WORKER_PORT", default_value_t = 19191,
          value_parser = clap::value_parser!(u16).range(1..65533))]
    pub worker_port: u16,
    /// How long to wait for a quiet machine before each phase, in seconds.
    #[arg(
        long,
        env = "BENCH_QUIET_WAIT_S",
        value_name = "BENCH_QUIET_WAIT_S",
        default_value_t = 60
    )]
    pub quiet_wait_s: u64,
    /// Keep the Redis keys and the database at the end (1 or 0).
    #[arg(long, env = "BENCH_KEEP", value_name = "BENCH_KEEP", default_value = "0",
          value_parser = clap::builder::BoolishValueParser::new(), action = clap::ArgAction::Set)]
    pub keep: bool,
    /// Where sluice-api, sluice-worker and sluice-backlog are (default: beside this program).
    #[arg(long, env = "BENCH_BIN_DIR", value_name = "BENCH_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Where drain-<timestamp>.json and its directory go.
    #[arg(
        long,
        env = "BENCH_RESULTS_DIR",
        value_name = "BENCH_RESULTS_DIR",
        default_value = "loadtests/results"
    )]
    pub results_dir: PathBuf,
    /// The wrk script of (e) (the ingress benchmark's).
    #[arg(
        long,
        env = "BENCH_UPDATE_LUA",
        value_name = "BENCH_UPDATE_LUA",
        default_value = "loadtests/bench/ingress/update.lua"
    )]
    pub update_lua: PathBuf,
    /// The command recorded in the JSON.
    #[arg(
        long,
        env = "BENCH_COMMAND",
        value_name = "BENCH_COMMAND",
        default_value = "loadtests/bench/drain/run"
    )]
    pub command: String,
    #[command(flatten)]
    pub worker_settings: WorkerSettings,
}

/// The worker settings recorded in the JSON, as the environment gives them to sluice-worker
/// (the defaults are sluice-worker's own).
#[derive(clap::Args, Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WorkerSettings {
    #[arg(skip = env_or("SLUICE_WORKER_CONCURRENCY", "16"))]
    pub concurrency: String,
    #[arg(skip = env_or("SLUICE_FETCH_BATCH", "256"))]
    pub fetch_batch: String,
    #[arg(skip = env_or("SLUICE_INSERT_BATCH", "512"))]
    pub insert_batch: String,
    #[arg(skip = env_or("SLUICE_INSERT_PARALLEL", "4"))]
    pub insert_parallel: String,
    #[arg(skip = env_or("SLUICE_POLL_INTERVAL", "50ms"))]
    pub poll_interval: String,
    #[arg(skip = env_or("SLUICE_LANE_WEIGHTS", "high=8,normal=4,low=1"))]
    pub lane_weights: String,
    #[arg(skip = env_or("DB_POOL_MAX_CONNECTIONS", "10"))]
    pub db_pool_max_connections: String,
    /// Absent means one: results written before the setting existed ran one consumer per lane,
    /// and their JSON reads and writes back unchanged.
    #[arg(skip = env_or("SLUICE_LANE_CONSUMERS", "2"))]
    #[serde(default = "one_consumer", skip_serializing_if = "is_one")]
    pub lane_consumers: String,
}

fn one_consumer() -> String {
    "1".into()
}

fn is_one(consumers: &str) -> bool {
    consumers == "1"
}

/// A variable's value, or `default` when it is unset or empty (as bash's `${X:-default}`).
fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn parse_db_name(s: &str) -> Result<String, String> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(s.to_owned())
    } else {
        Err("letters, digits and _ only".into())
    }
}

/// The phases to run, `a` to `e`.
#[derive(Debug, Clone, PartialEq)]
pub struct Phases(BTreeSet<char>);

impl Phases {
    pub fn has(&self, phase: char) -> bool {
        self.0.contains(&phase)
    }
}

impl FromStr for Phases {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for word in s.split_whitespace() {
            match word {
                "a" | "b" | "c" | "d" | "e" => set.insert(word.chars().next().expect("one char")),
                other => return Err(format!("unknown phase '{other}' (phases are a b c d e)")),
            };
        }
        Ok(Phases(set))
    }
}

/// The worker counts of (b) and (c): `1` is (b), the others (c).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerCounts(pub Vec<u32>);

impl FromStr for WorkerCounts {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let counts = s
            .split_whitespace()
            .map(|w| match w.parse::<u32>() {
                Ok(n @ 1..=3) => Ok(n),
                _ => Err(format!("'{w}' is not a worker count of 1 to 3")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(WorkerCounts(counts))
    }
}

#[cfg(test)]
mod tests;
