//! The worker's settings: one typed struct, parsed once, each field a flag and an env var (the
//! commands that take them are in [`crate::cli`]).

use std::{net::SocketAddr, time::Duration};

use sluice_shared::{
    config::{
        DatabaseConfig, DbStartupConfig, RedisConfig, TelemetryConfig, duration_at_least,
        parse_addr, show,
    },
    queue::{QueueConfig, order::OrderConfig},
    sealed::SecretsConfig,
    secret::Secret,
    serve::ServeConfig,
};

use sluice_botapi::BotApiConfig;

use crate::{partitions::Retention, scheduler::LaneWeights};

/// Which built-in handler `sluice-worker` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HandlerKind {
    /// Store the update in `updates` (nothing else).
    Store,
    /// Also POST the raw update to SLUICE_FORWARD_URL.
    Forward,
}

/// Where the admin listener is: `run` binds it, `healthcheck` asks it.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct AdminAddr {
    /// Address of the admin listener (/healthz, /readyz, /metrics).
    #[arg(long = "admin-addr", env = "SLUICE_ADMIN_ADDR", value_name = "SLUICE_ADMIN_ADDR",
          default_value = "127.0.0.1:9091", value_parser = parse_addr)]
    pub admin_addr: SocketAddr,
}

#[derive(clap::Args, Debug)]
pub struct WorkerConfig {
    #[command(flatten)]
    pub admin: AdminAddr,

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

    /// Jobs fetched from Redis in one round trip, at most as many as a lane may run at once (its
    /// concurrency plus its row window), so no fetched job waits in this process for a slot.
    #[arg(long = "fetch-batch", env = "SLUICE_FETCH_BATCH", value_name = "SLUICE_FETCH_BATCH",
          default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fetch_batch: u32,

    /// apalis consumers per lane in this process, each with its own fetch loop. apalis-redis
    /// 1.0's consumer waits for each acknowledgement and each fetch in turn (1.6–4 ms apiece
    /// under load), so one consumer leaves the process idle between round trips; a second
    /// overlaps them. The lane's window (its concurrency plus its row window) is shared among
    /// them, so the jobs a process holds do not grow (but see `Worker::consumer_window`).
    #[arg(long = "lane-consumers", env = "SLUICE_LANE_CONSUMERS", value_name = "SLUICE_LANE_CONSUMERS",
          default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=crate::order::MAX_LANE_CONSUMERS as i64))]
    pub lane_consumers: u8,

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
          default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..=10_000))]
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

    /// How long `updates` and `events` rows are kept: whole days' partitions older than this are
    /// dropped, once a day, by one worker; at least 1d, or `off` to keep everything.
    #[arg(
        long = "retention",
        env = "SLUICE_RETENTION",
        value_name = "SLUICE_RETENTION",
        default_value = "30d"
    )]
    pub retention: Retention,

    /// This process's identity; defaults to POD_NAME, else the hostname. A random suffix is
    /// always added so two processes never share a worker name.
    #[arg(long = "worker-id", env = "POD_NAME", value_name = "POD_NAME")]
    pub worker_id: Option<String>,

    #[command(flatten)]
    pub db: DatabaseConfig,
    #[command(flatten)]
    pub db_startup: DbStartupConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub queue: QueueConfig,
    /// Per-key ordering: which jobs wait for their key's earlier ones, and for how long at most.
    #[command(flatten)]
    pub order: OrderConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
    /// Timers and cap of the admin listener.
    #[command(flatten)]
    pub serve: ServeConfig,
    /// The Bot API client handlers get (`ctx.bot_api`): base URL, limits, time bounds.
    #[command(flatten)]
    pub botapi: BotApiConfig,
    /// The Bot API proxy (`SLUICE_BOTAPI_PROXY_ADDR`; off when unset).
    #[command(flatten)]
    pub proxy: crate::proxy::config::ProxyConfig,
    /// The keys that open bots' sealed tokens (the Bot API client) and webhook secrets (the
    /// forward handler's secret token header).
    #[command(flatten)]
    pub secrets: SecretsConfig,
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
            retention = %self.retention,
            dedup_ttl = %show(self.queue.dedup_ttl),
            order_max_hold = %show(self.order.max_hold),
            db_acquire_timeout = %show(self.db.acquire_timeout),
            header_read_timeout = %show(self.serve.header_read_timeout),
            idle_timeout = %show(self.serve.idle_timeout),
            botapi_max_wait = %show(self.botapi.max_wait),
            botapi_timeout = %show(self.botapi.timeout),
            botapi_token_ttl = %show(self.botapi.token_ttl),
            "duration settings"
        );
    }
}

/// Length rules are the forward handler's, checked at start-up with an error that names the
/// variable without echoing the value (a clap parse error would print it).
fn unchecked_secret(s: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret::unchecked(s))
}
