//! The api's settings: one typed struct, parsed once, each field a flag and an env var (the
//! commands that take them are in [`crate::cli`]).

use std::{net::SocketAddr, time::Duration};

use sluice_shared::{
    config::{
        DatabaseConfig, DbStartupConfig, RedisConfig, TelemetryConfig, duration_at_least,
        duration_between, parse_addr, show,
    },
    lanes::LaneRules,
    queue::{QueueConfig, order::OrderConfig},
    sealed::SecretsConfig,
    serve::ServeConfig,
};

use crate::{admission::config::AdmissionConfig, enqueue::EnqueueSettings};

/// The least of the timers and periods for which zero makes no sense.
const MS: Duration = Duration::from_millis(1);

/// Commands that only need the database (the connection and pool settings; not the servers'
/// start-up ones, [`DbStartupConfig`]).
#[derive(clap::Args, Debug)]
pub struct DbOnly {
    #[command(flatten)]
    pub db: DatabaseConfig,
}

/// Where the admin listener is: `serve` binds it, `healthcheck` asks it.
#[derive(clap::Args, Debug, Clone, Copy)]
pub struct AdminAddr {
    /// Address of the admin listener (/healthz, /readyz, /metrics).
    #[arg(long = "admin-addr", env = "SLUICE_ADMIN_ADDR", value_name = "SLUICE_ADMIN_ADDR",
          default_value = "127.0.0.1:9090", value_parser = parse_addr)]
    pub admin_addr: SocketAddr,
}

#[derive(clap::Args, Debug)]
pub struct ApiConfig {
    /// Address of the webhook listener.
    #[arg(long = "addr", env = "SLUICE_API_ADDR", value_name = "SLUICE_API_ADDR",
          default_value = "0.0.0.0:8080", value_parser = parse_addr)]
    pub addr: SocketAddr,

    #[command(flatten)]
    pub admin: AdminAddr,

    /// Largest accepted request body in bytes; larger ones get 413.
    #[arg(long = "max-body-bytes", env = "SLUICE_MAX_BODY_BYTES", value_name = "SLUICE_MAX_BODY_BYTES",
          default_value_t = 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..=64 * 1024 * 1024))]
    pub max_body_bytes: u64,

    /// Request-body bytes each webhook route may hold in memory at once (signed webhooks and
    /// Telegram separately); past it new bodies get 503 + Retry-After. At least
    /// SLUICE_MAX_BODY_BYTES.
    #[arg(long = "body-budget-bytes", env = "SLUICE_BODY_BUDGET_BYTES", value_name = "SLUICE_BODY_BUDGET_BYTES",
          default_value_t = 16 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_budget_bytes: u64,

    /// Time budget of one enqueue; past it the sender gets 503 + Retry-After.
    #[arg(long = "enqueue-timeout", env = "SLUICE_ENQUEUE_TIMEOUT", value_name = "SLUICE_ENQUEUE_TIMEOUT",
          default_value = "250ms", value_parser = duration_between(MS, Duration::from_secs(60)))]
    pub enqueue_timeout: Duration,

    /// Replicas that must hold a job before it is acknowledged: after the push the api sends
    /// `WAIT N` within the enqueue budget and answers 503 + Retry-After when fewer replicas
    /// confirm. 0 acknowledges what the primary accepted in memory.
    #[arg(long = "enqueue-min-replicas", env = "SLUICE_ENQUEUE_MIN_REPLICAS", value_name = "SLUICE_ENQUEUE_MIN_REPLICAS",
          default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=16))]
    pub enqueue_min_replicas: u32,

    /// Also claim and check apalis-redis's per-lane dedup keys besides the shared namespace, so
    /// api replicas of an older release agree with this one during a rolling deploy. Turn off
    /// only once no older replica has run for a whole SLUICE_DEDUP_TTL.
    #[arg(long = "dedup-lane-keys", env = "SLUICE_DEDUP_LANE_KEYS", value_name = "SLUICE_DEDUP_LANE_KEYS",
          default_value_t = true, action = clap::ArgAction::Set)]
    pub dedup_lane_keys: bool,

    /// How often the bot registry is re-read from Postgres (changes are seen within this).
    #[arg(long = "registry-refresh", env = "SLUICE_REGISTRY_REFRESH", value_name = "SLUICE_REGISTRY_REFRESH",
          default_value = "2s", value_parser = duration_at_least(MS))]
    pub registry_refresh: Duration,

    /// Lane overrides per update kind, e.g. "poll=normal,message_reaction=low".
    #[arg(
        long = "lane-rules",
        env = "SLUICE_LANE_RULES",
        value_name = "SLUICE_LANE_RULES",
        default_value = ""
    )]
    pub lane_rules: LaneRules,

    /// How often the queue depth gauges are sampled from Redis.
    #[arg(long = "depth-interval", env = "SLUICE_DEPTH_INTERVAL", value_name = "SLUICE_DEPTH_INTERVAL",
          default_value = "1s", value_parser = duration_at_least(MS))]
    pub depth_interval: Duration,

    /// How long in-flight requests may take to finish after SIGTERM (0: none).
    #[arg(long = "shutdown-grace", env = "SLUICE_SHUTDOWN_GRACE", value_name = "SLUICE_SHUTDOWN_GRACE",
          default_value = "30s", value_parser = duration_at_least(Duration::ZERO))]
    pub shutdown_grace: Duration,

    #[command(flatten)]
    pub db: DatabaseConfig,
    #[command(flatten)]
    pub db_startup: DbStartupConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub queue: QueueConfig,
    /// Per-key ordering: the api gives each update its key's next place.
    #[command(flatten)]
    pub order: OrderConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
    /// The level of the one access line per request: off, error, warn, info or debug.
    #[arg(
        long = "access-log",
        env = "SLUICE_ACCESS_LOG",
        value_name = "SLUICE_ACCESS_LOG",
        default_value = "info"
    )]
    pub access_log: crate::access::AccessLog,
    #[command(flatten)]
    pub admission: AdmissionConfig,
    #[command(flatten)]
    pub serve: ServeConfig,
    #[command(flatten)]
    pub secrets: SecretsConfig,
    /// The operator console (its own listener; off without a token digest).
    #[command(flatten)]
    pub console: sluice_console::config::ConsoleConfig,
}

impl ApiConfig {
    /// What clap cannot check field by field; the message names the variables.
    pub fn validate(&self) -> Result<(), String> {
        self.admission.validate()?;
        self.secrets.keyring()?;
        if self.body_budget_bytes < self.max_body_bytes {
            return Err(format!(
                "SLUICE_BODY_BUDGET_BYTES ({}) must be at least SLUICE_MAX_BODY_BYTES ({}): \
                 a body of the largest size could never be read",
                self.body_budget_bytes, self.max_body_bytes
            ));
        }
        Ok(())
    }

    /// Logs every duration in force, once at start-up: with the deprecated names still read
    /// (issue 13), the value at work is not always the one a manifest shows.
    pub fn log_durations(&self) {
        tracing::info!(
            enqueue_timeout = %show(self.enqueue_timeout),
            rate_redis_timeout = %show(self.admission.redis_timeout),
            max_delay = %show(self.admission.max_delay),
            shed_retry_after = %show(self.admission.shed_retry_after),
            shutdown_grace = %show(self.shutdown_grace),
            registry_refresh = %show(self.registry_refresh),
            depth_interval = %show(self.depth_interval),
            dedup_ttl = %show(self.queue.dedup_ttl),
            db_acquire_timeout = %show(self.db.acquire_timeout),
            header_read_timeout = %show(self.serve.header_read_timeout),
            idle_timeout = %show(self.serve.idle_timeout),
            "duration settings"
        );
    }

    pub fn enqueue(&self) -> EnqueueSettings {
        EnqueueSettings {
            budget: self.enqueue_timeout,
            lane_keys: self.dedup_lane_keys,
            min_replicas: self.enqueue_min_replicas,
            ordering: self.order.ordering,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_zero_registry_refresh_is_refused_at_start_up_naming_the_variable() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct T {
            #[command(flatten)]
            cfg: super::ApiConfig,
        }
        // It fed tokio::time::interval, which panics on zero, and killed the refresh task.
        let err = T::try_parse_from(["t", "--database-url=postgres://x", "--registry-refresh=0"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SLUICE_REGISTRY_REFRESH"), "{err}");
        assert!(err.contains("must be at least 1ms"), "{err}");
    }

    #[test]
    fn a_body_budget_below_the_body_limit_is_refused_naming_both_variables() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            cfg: super::ApiConfig,
        }
        let parse = |budget: &str| {
            T::try_parse_from(["t", "--database-url=postgres://x", budget])
                .unwrap()
                .cfg
        };
        let e = parse("--body-budget-bytes=1000").validate().unwrap_err();
        assert!(e.contains("SLUICE_BODY_BUDGET_BYTES") && e.contains("SLUICE_MAX_BODY_BYTES"));
        assert!(parse("--body-budget-bytes=1048576").validate().is_ok());
    }
}
