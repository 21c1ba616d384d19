//! The worker's settings: one typed struct, parsed once, each field a flag and an env var.

use std::{net::SocketAddr, time::Duration};

use clap::{Parser, Subcommand};
use sluice_shared::{
    config::{
        DatabaseConfig, RedisConfig, TelemetryConfig, duration_at_least, parse_addr,
        parse_duration, show,
    },
    lanes::Lane,
    queue::QueueConfig,
    secret::Secret,
    serve::ServeConfig,
    tls::TlsConfig,
};

use crate::scheduler::LaneWeights;

/// sluice-worker: drains the lanes' queues into Postgres.
#[derive(Parser, Debug)]
#[command(name = "sluice-worker", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Drain the queues (the default when no command is given).
    Run(Box<WorkerConfig>),
    /// Inspect, replay or purge the dead letters.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Subcommand, Debug)]
pub enum DlqCommand {
    /// List dead letters, newest first.
    List {
        /// Only this lane (high, normal, low).
        #[arg(long)]
        lane: Option<Lane>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        redis: RedisOnly,
    },
    /// Put dead letters back in their lane's queue (their rows stay unique: replay is safe).
    Replay {
        /// Replay every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Dead-letter ids to replay (as `dlq list` shows them).
        #[arg(required_unless_present = "all")]
        ids: Vec<String>,
        #[command(flatten)]
        redis: RedisOnly,
    },
    /// Delete dead letters older than a duration (e.g. 7d, 12h).
    Purge {
        #[arg(long = "older-than", value_parser = parse_duration)]
        older_than: Duration,
        #[command(flatten)]
        redis: RedisOnly,
    },
}

/// Commands that only need Redis.
#[derive(clap::Args, Debug)]
pub struct RedisOnly {
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub queue: QueueConfig,
    #[command(flatten)]
    pub tls: TlsConfig,
}

/// Which built-in handler `sluice-worker` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HandlerKind {
    /// Store the update in `updates` (nothing else).
    Store,
    /// Also POST the raw update to SLUICE_FORWARD_URL.
    Forward,
}

#[derive(clap::Args, Debug)]
pub struct WorkerConfig {
    /// Address of the admin listener (/healthz, /readyz, /metrics).
    #[arg(long = "admin-addr", env = "SLUICE_ADMIN_ADDR", value_name = "SLUICE_ADMIN_ADDR",
          default_value = "127.0.0.1:9091", value_parser = parse_addr)]
    pub admin_addr: SocketAddr,

    /// Jobs this process works on at once, shared by all lanes (see SLUICE_LANE_WEIGHTS).
    #[arg(long = "concurrency", env = "SLUICE_WORKER_CONCURRENCY", value_name = "SLUICE_WORKER_CONCURRENCY",
          default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    /// How long the in-flight jobs of a worker that stopped heartbeating wait before another
    /// worker takes them; at least 2s (two heartbeats of at least 1s each).
    #[arg(long = "orphan-timeout", env = "SLUICE_ORPHAN_TIMEOUT", value_name = "SLUICE_ORPHAN_TIMEOUT",
          default_value = "60s", value_parser = duration_at_least(Duration::from_secs(2)))]
    pub orphan_timeout: Duration,

    /// After SIGTERM, how long in-flight jobs may take to finish before the process exits
    /// (unfinished ones are re-enqueued by other workers; 0: none).
    #[arg(long = "shutdown-grace", env = "SLUICE_SHUTDOWN_GRACE", value_name = "SLUICE_SHUTDOWN_GRACE",
          default_value = "30s", value_parser = duration_at_least(Duration::ZERO))]
    pub shutdown_grace: Duration,

    /// How often an idle lane asks Redis for new jobs.
    #[arg(long = "poll-interval", env = "SLUICE_POLL_INTERVAL", value_name = "SLUICE_POLL_INTERVAL",
          default_value = "50ms", value_parser = duration_at_least(MS))]
    pub poll_interval: Duration,

    /// Jobs fetched from Redis in one round trip.
    #[arg(long = "fetch-batch", env = "SLUICE_FETCH_BATCH", value_name = "SLUICE_FETCH_BATCH",
          default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fetch_batch: u32,

    /// Shares of the capacity when several lanes have work: "high=8,normal=4,low=1". Idle
    /// capacity of one lane goes to the others; no weight can be 0, so no lane starves.
    #[arg(
        long = "lane-weights",
        env = "SLUICE_LANE_WEIGHTS",
        value_name = "SLUICE_LANE_WEIGHTS",
        default_value = "high=8,normal=4,low=1"
    )]
    pub lane_weights: LaneWeights,

    /// Attempts per update, the first included, before it goes to the dead letters.
    #[arg(long = "retry-max-attempts", env = "SLUICE_RETRY_MAX_ATTEMPTS", value_name = "SLUICE_RETRY_MAX_ATTEMPTS",
          default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub retry_max_attempts: u32,

    /// First retry delay; doubles per attempt, with jitter. Retries are scheduled by the whole
    /// second.
    #[arg(long = "retry-base", env = "SLUICE_RETRY_BASE", value_name = "SLUICE_RETRY_BASE",
          default_value = "1s", value_parser = duration_at_least(MS))]
    pub retry_base: Duration,

    /// Longest retry delay.
    #[arg(long = "retry-max", env = "SLUICE_RETRY_MAX", value_name = "SLUICE_RETRY_MAX",
          default_value = "5m", value_parser = duration_at_least(MS))]
    pub retry_max: Duration,

    /// The built-in handler: store (the row only) or forward (also POST to SLUICE_FORWARD_URL).
    #[arg(
        long = "handler",
        env = "SLUICE_HANDLER",
        value_name = "SLUICE_HANDLER",
        default_value = "store"
    )]
    pub handler: HandlerKind,

    /// Where the forward handler POSTs each raw update: an absolute http:// URL (checked at
    /// start-up; this build has no TLS). Never printed: its query string may hold a token.
    #[arg(
        long = "forward-url",
        env = "SLUICE_FORWARD_URL",
        value_name = "SLUICE_FORWARD_URL",
        hide_env_values = true,
        required_if_eq("handler", "forward")
    )]
    pub forward_url: Option<String>,

    /// Key (16-1024 bytes) of the HMAC-SHA256 in each forwarded request's X-Sluice-Signature.
    /// Checked at start-up, not here: clap's errors would print the value.
    #[arg(
        long = "forward-secret",
        env = "SLUICE_FORWARD_SECRET",
        value_name = "SLUICE_FORWARD_SECRET",
        hide_env_values = true,
        value_parser = unchecked_secret,
        required_if_eq("handler", "forward")
    )]
    pub forward_secret: Option<Secret>,

    /// While rotating: the secret being replaced. Each request then carries a second v1=
    /// signature under it, so receivers that still hold only the old secret accept it.
    #[arg(
        long = "forward-secret-previous",
        env = "SLUICE_FORWARD_SECRET_PREVIOUS",
        value_name = "SLUICE_FORWARD_SECRET_PREVIOUS",
        hide_env_values = true,
        value_parser = unchecked_secret
    )]
    pub forward_secret_previous: Option<Secret>,

    /// Time budget of one forward call; past it the attempt counts as failed (and is retried).
    #[arg(long = "forward-timeout", env = "SLUICE_FORWARD_TIMEOUT", value_name = "SLUICE_FORWARD_TIMEOUT",
          default_value = "10s", value_parser = duration_at_least(MS))]
    pub forward_timeout: Duration,

    /// Rows per batched insert into `updates`.
    #[arg(long = "insert-batch", env = "SLUICE_INSERT_BATCH", value_name = "SLUICE_INSERT_BATCH",
          default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub insert_batch: u32,

    /// Batched inserts in flight at once (each holds one pooled connection).
    #[arg(long = "insert-parallel", env = "SLUICE_INSERT_PARALLEL", value_name = "SLUICE_INSERT_PARALLEL",
          default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub insert_parallel: u32,

    /// How often finished jobs' bookkeeping is removed from Redis.
    #[arg(long = "vacuum-interval", env = "SLUICE_VACUUM_INTERVAL", value_name = "SLUICE_VACUUM_INTERVAL",
          default_value = "5s", value_parser = duration_at_least(MS))]
    pub vacuum_interval: Duration,

    /// How long dead letters (ours and apalis-redis's own dead set) are kept before they are
    /// deleted; 0 keeps them until replayed or purged by hand.
    #[arg(long = "dlq-retention", env = "SLUICE_DLQ_RETENTION", value_name = "SLUICE_DLQ_RETENTION",
          default_value = "14d", value_parser = duration_at_least(Duration::ZERO))]
    pub dlq_retention: Duration,

    /// This process's identity; defaults to POD_NAME, else the hostname. A random suffix is
    /// always added so two processes never share a worker name.
    #[arg(long = "worker-id", env = "POD_NAME", value_name = "POD_NAME")]
    pub worker_id: Option<String>,

    #[command(flatten)]
    pub db: DatabaseConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub queue: QueueConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
    /// Timers and cap of the admin listener.
    #[command(flatten)]
    pub serve: ServeConfig,
}

/// The least of the timers and periods for which zero makes no sense.
const MS: Duration = Duration::from_millis(1);

impl WorkerConfig {
    /// Logs every duration in force, once at start-up: with the deprecated names still read
    /// (issue 13), the value at work is not always the one a manifest shows.
    pub fn log_durations(&self) {
        tracing::info!(
            orphan_timeout = %show(self.orphan_timeout),
            shutdown_grace = %show(self.shutdown_grace),
            poll_interval = %show(self.poll_interval),
            retry_base = %show(self.retry_base),
            retry_max = %show(self.retry_max),
            forward_timeout = %show(self.forward_timeout),
            vacuum_interval = %show(self.vacuum_interval),
            dlq_retention = %show(self.dlq_retention),
            dedup_ttl = %show(self.queue.dedup_ttl),
            db_acquire_timeout = %show(self.db.acquire_timeout),
            header_read_timeout = %show(self.serve.header_read_timeout),
            idle_timeout = %show(self.serve.idle_timeout),
            "duration settings"
        );
    }
}

/// Length rules are the forward handler's, checked at start-up with an error that names the
/// variable without echoing the value (a clap parse error would print it).
fn unchecked_secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::unchecked(s))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
