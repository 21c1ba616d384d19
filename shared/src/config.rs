//! Settings shared by both binaries, parsed once at start-up from flags or the environment.
//!
//! Each field is a flag *and* an environment variable; its doc comment is its `--help` text.
//! A missing or malformed value stops the process with one line naming the variable
//! (see [`parse_or_exit`]).
//!
//! # Layout
//! - this file: the settings both binaries share, and parsing them.
//! - [`duration`]: the one parser of duration settings, with per-setting bounds.
//! - [`renamed`]: the deprecated names and spellings of durations, read for one release.
//! - `db_startup`: [`DbStartupConfig`], what a server does with Postgres as it starts (only the
//!   servers take it: `migrate` and the `bots`/`sources` commands do not list its flags).

mod db_startup;
mod duration;
pub mod renamed;

use std::{ffi::OsString, fmt, net::SocketAddr, time::Duration};

use clap::Parser;

use crate::tls::TlsConfig;
pub use db_startup::DbStartupConfig;

pub use duration::{DurationParser, duration_at_least, duration_between, parse_duration, show};

/// Where Postgres lives and how many connections this process may hold: every command that
/// connects takes it.
#[derive(clap::Args, Clone)]
pub struct DatabaseConfig {
    /// Postgres connection URL (e.g. postgres://user:pass@host:5432/sluice).
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        value_name = "DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: String,

    /// Upper bound of this process's Postgres pool; replicas × this must fit the server.
    #[arg(long = "db-pool-max-connections", env = "DB_POOL_MAX_CONNECTIONS", value_name = "DB_POOL_MAX_CONNECTIONS",
          default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub pool_max_connections: u32,

    /// Connections the pool keeps open even when idle.
    #[arg(
        long = "db-pool-min-connections",
        env = "DB_POOL_MIN_CONNECTIONS",
        value_name = "DB_POOL_MIN_CONNECTIONS",
        default_value_t = 0
    )]
    pub pool_min_connections: u32,

    /// How long a caller waits for a free pooled connection before giving up.
    #[arg(long = "db-pool-acquire-timeout", env = "DB_POOL_ACQUIRE_TIMEOUT", value_name = "DB_POOL_ACQUIRE_TIMEOUT",
          default_value = "2s", value_parser = duration_at_least(Duration::from_millis(1)))]
    pub acquire_timeout: Duration,

    /// The private CA (`SLUICE_CA_FILE`): here because every command that reaches Postgres
    /// takes these settings; the serving processes use it for Redis and https too.
    #[command(flatten)]
    pub tls: TlsConfig,
}

// The URL may carry a password: never print it.
impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &"[redacted]")
            .field("pool_max_connections", &self.pool_max_connections)
            .field("pool_min_connections", &self.pool_min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BudgetMode {
    Warn,
    Enforce,
}

/// Where Redis lives and under which key prefix sluice keeps its queues.
#[derive(clap::Args, Clone)]
pub struct RedisConfig {
    /// Redis connection URL.
    #[arg(
        long = "redis-url",
        env = "REDIS_URL",
        value_name = "REDIS_URL",
        default_value = "redis://127.0.0.1:6379",
        hide_env_values = true
    )]
    pub redis_url: String,

    /// Prefix of every Redis key sluice writes; one prefix is one independent set of queues.
    #[arg(long = "queue-prefix", env = "SLUICE_QUEUE_PREFIX", value_name = "SLUICE_QUEUE_PREFIX",
          default_value = "sluice", value_parser = parse_prefix)]
    pub queue_prefix: String,
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &"[redacted]")
            .field("queue_prefix", &self.queue_prefix)
            .finish()
    }
}

fn parse_prefix(s: &str) -> Result<String, String> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c == '{' || c == '}') {
        return Err("must be non-empty, without spaces or braces".into());
    }
    Ok(s.to_owned())
}

/// How logs and traces are written.
#[derive(clap::Args, Debug, Clone)]
pub struct TelemetryConfig {
    /// Log line format: `text` for people, `json` for log collectors.
    #[arg(
        long = "log-format",
        env = "SLUICE_LOG_FORMAT",
        value_name = "SLUICE_LOG_FORMAT",
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// Log filter in `tracing` syntax (e.g. `info,sluice_api=debug`).
    #[arg(
        long = "log",
        env = "RUST_LOG",
        value_name = "RUST_LOG",
        default_value = "info",
        value_parser = crate::telemetry::config::parse_log_filter
    )]
    pub log_filter: String,

    #[command(flatten)]
    pub traces: crate::telemetry::config::TraceConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Parses a socket address, naming the problem in words a person can act on.
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.parse()
        .map_err(|_| format!("'{s}' is not an address like 0.0.0.0:8080"))
}

/// Parses `args` and the environment, the deprecated names of settings included
/// ([`renamed`]: each deprecation is printed to stderr, once per process).
pub fn try_parse_from<T: Parser>(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
) -> Result<T, clap::Error> {
    let steps = renamed::plan(|name| std::env::var(name).ok());
    let (parsed, notices) = parse_with::<T>(args, &steps)?;
    renamed::warn_once(&notices);
    Ok(parsed)
}

/// [`try_parse_from`] with the steps of the deprecated names given, and the notices returned.
fn parse_with<T: Parser>(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    steps: &[renamed::Step],
) -> Result<(T, Vec<&renamed::Notice>), clap::Error> {
    let plain = T::command();
    let mut cmd = renamed::apply(plain.clone(), steps);
    let mut matches = cmd
        .try_get_matches_from_mut(args)
        .map_err(|e| renamed::name_the_old(e, steps))?;
    // Before the conversion: it takes the subcommands out of `matches`.
    let notices = renamed::relevant(steps, &plain, &matches);
    let parsed = T::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))?;
    Ok((parsed, notices))
}

/// Parses the command line and environment; on error prints one line that names the
/// offending variable and exits with status 2 (help and version print as usual).
pub fn parse_or_exit<T: Parser>() -> T {
    match try_parse_from::<T>(std::env::args_os()) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind::*;
            if matches!(
                e.kind(),
                DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            eprintln!("{}", one_line(&e));
            std::process::exit(2);
        }
    }
}

/// clap renders errors over several lines with usage hints; operators reading a crash-looping
/// pod's log want the one line that names the variable.
pub fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let mut parts = Vec::new();
    for line in rendered.lines() {
        let line = line.trim();
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if !line.is_empty() {
            parts.push(line);
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    struct T {
        #[command(flatten)]
        db: DatabaseConfig,
    }

    #[test]
    fn malformed_value_names_the_variable_on_one_line() {
        let e = T::try_parse_from([
            "t",
            "--database-url",
            "postgres://x",
            "--db-pool-max-connections",
            "ten",
        ])
        .unwrap_err();
        let line = one_line(&e);
        assert!(line.contains("DB_POOL_MAX_CONNECTIONS"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn missing_value_names_the_variable() {
        let e = T::try_parse_from(["t"]).unwrap_err();
        assert!(one_line(&e).contains("DATABASE_URL"), "{}", one_line(&e));
    }

    #[test]
    fn debug_redacts_the_url() {
        let t = T::try_parse_from(["t", "--database-url", "postgres://u:hunter2@h/db"]).unwrap();
        assert!(!format!("{:?}", t.db).contains("hunter2"));
    }
}
