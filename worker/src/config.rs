//! The worker's settings: one typed struct, parsed once, each field a flag and an env var.

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use sluice_shared::{
    config::{DatabaseConfig, RedisConfig, TelemetryConfig, parse_addr, parse_duration},
    queue::QueueConfig,
};

/// sluice-worker: drains the lanes' queues into Postgres.
#[derive(Parser, Debug)]
#[command(name = "sluice-worker", version)]
pub struct WorkerConfig {
    /// Address of the admin listener (/healthz, /readyz, /metrics).
    #[arg(long = "admin-addr", env = "SLUICE_ADMIN_ADDR", value_name = "SLUICE_ADMIN_ADDR",
          default_value = "127.0.0.1:9091", value_parser = parse_addr)]
    pub admin_addr: SocketAddr,

    /// Jobs this process works on at once, per lane.
    #[arg(long = "concurrency", env = "SLUICE_WORKER_CONCURRENCY", value_name = "SLUICE_WORKER_CONCURRENCY",
          default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    /// How long the in-flight jobs of a worker that stopped heartbeating wait before another
    /// worker takes them (seconds).
    #[arg(long = "orphan-timeout", env = "SLUICE_ORPHAN_TIMEOUT_S", value_name = "SLUICE_ORPHAN_TIMEOUT_S",
          default_value = "60", value_parser = parse_duration)]
    pub orphan_timeout: Duration,

    /// After SIGTERM, how long in-flight jobs may take to finish before the process exits
    /// (unfinished ones are re-enqueued by other workers).
    #[arg(long = "shutdown-grace", env = "SLUICE_SHUTDOWN_GRACE_S", value_name = "SLUICE_SHUTDOWN_GRACE_S",
          default_value = "30", value_parser = parse_duration)]
    pub shutdown_grace: Duration,

    /// How often an idle lane asks Redis for new jobs.
    #[arg(long = "poll-interval", env = "SLUICE_POLL_INTERVAL", value_name = "SLUICE_POLL_INTERVAL",
          default_value = "50ms", value_parser = parse_duration)]
    pub poll_interval: Duration,

    /// Jobs fetched from Redis in one round trip.
    #[arg(long = "fetch-batch", env = "SLUICE_FETCH_BATCH", value_name = "SLUICE_FETCH_BATCH",
          default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fetch_batch: u32,

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
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::WorkerConfig::command().debug_assert();
    }
}
