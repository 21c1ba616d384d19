//! The apalis-redis queues behind the lanes, and the one owner of what goes in and out of them.
//!
//! # Layout
//! - this file: the connection, each lane's apalis-redis configuration, the dedup window and
//!   its key namespace, run times, and [`PushError`].
//! - [`push`]: [`Pusher`], every write of a job into a lane (`push.lua`), the duplicate check
//!   (`known.lua`) and re-queueing.
//! - [`release`]: [`Pusher::release_held`], the jobs a stopped worker still holds, put back.
//! - [`script`]: our scripts, run with the `WAIT` for replicas in the same round trip.
//! - [`order`]: per-key ordering: the settings, the key of an update, where its state lives.
//! - [`depth`]: each lane's backlog and age, sampled in one round trip for shedding and metrics.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::{config::parse_duration, lanes::Lane, tls::TlsConfig};

pub mod depth;
pub mod order;
pub mod push;
mod release;
mod script;

pub use push::{NewJob, PushOptions, Pushed, Pusher};

/// Why Redis did not confirm a push.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PushError {
    #[error("redis refused the enqueue: {0}")]
    Redis(String),
    /// The job is on the primary, but fewer replicas than asked have it: a primary lost now
    /// would lose it, so the sender must retry (its retry is a duplicate, confirmed by its own
    /// `WAIT`).
    #[error("{acked} of {wanted} replicas acknowledged in time")]
    Replicas { acked: u32, wanted: u32 },
    #[error("could not encode the job: {0}")]
    Encode(String),
}

/// Queue settings both binaries must agree on.
#[derive(clap::Args, Debug, Clone)]
pub struct QueueConfig {
    /// How long a (bot, update_id) is remembered to drop Telegram's re-deliveries; Telegram keeps
    /// an update for up to 24 h, so this is never shorter.
    #[arg(long = "dedup-ttl", env = "SLUICE_DEDUP_TTL", value_name = "SLUICE_DEDUP_TTL",
          default_value = "25h", value_parser = parse_dedup_ttl)]
    pub dedup_ttl: Duration,
}

fn parse_dedup_ttl(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_secs(24 * 3600) {
        return Err(
            "must be at least 24h: Telegram re-delivers an update for up to 24 hours".into(),
        );
    }
    Ok(d)
}

/// The apalis-redis configuration of one lane's queue.
pub fn lane_config(prefix: &str, lane: Lane, queue: &QueueConfig) -> apalis_redis::Config {
    apalis_redis::Config::default()
        .queue(lane.queue_name(prefix))
        .idempotency_ttl(Some(queue.dedup_ttl))
        // Nobody subscribes to apalis's pub/sub task events; publishing them costs Redis CPU per job.
        .emit_events(false)
}

/// Where the api remembers which deliveries it has queued: `<prefix>:idempotency`, one namespace
/// for every lane, so a delivery that lands in another lane after a lane-rule change is still a
/// duplicate. A delivery's key is `<prefix>:idempotency:<dedup key>`, with dedup keys
/// `tg:<bot>:<update_id>` and `src:<source>:<idempotency key>` (see [`dedup_key_name`]).
pub fn dedup_namespace(prefix: &str) -> String {
    format!("{prefix}:idempotency")
}

/// The Redis key remembering one delivery, e.g. `sluice:idempotency:tg:mybot:42`; it holds the id
/// of the job that claimed it and lives for `SLUICE_DEDUP_TTL`.
pub fn dedup_key_name(prefix: &str, dedup_key: &str) -> String {
    format!("{}:{dedup_key}", dedup_namespace(prefix))
}

/// [`connect_with`] trusting the system's roots only (tests and tools).
pub fn connect(url: &str, response_timeout: Duration) -> redis::RedisResult<ConnectionManager> {
    connect_with(url, &TlsConfig::default(), response_timeout)
}

/// The client every Redis connection of sluice is made from: `rediss://` URLs speak TLS,
/// trusting the system's roots and `SLUICE_CA_FILE`.
pub fn client(url: &str, tls: &TlsConfig) -> redis::RedisResult<redis::Client> {
    crate::tls::install_provider();
    // Without TCP_NODELAY (redis-rs's default is off) a command written while the previous
    // one's reply is outstanding waits for that reply's ACK: pipelined scripts queue behind
    // each other on the multiplexed connection.
    let info = redis::IntoConnectionInfo::into_connection_info(url)?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
    let speaks_tls = matches!(info.addr(), redis::ConnectionAddr::TcpTls { .. });
    match tls.redis_roots() {
        Some(roots) if speaks_tls => redis::Client::build_with_tls(
            info,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(roots.to_vec()),
            },
        ),
        _ => redis::Client::open(info),
    }
}

/// A Redis connection that reconnects by itself and never blocks a caller for long.
///
/// Created lazily so a process starts (and answers 503) while Redis is down; each command has a
/// response timeout so a paused Redis cannot hold callers beyond their own budget.
pub fn connect_with(
    url: &str,
    tls: &TlsConfig,
    response_timeout: Duration,
) -> redis::RedisResult<ConnectionManager> {
    let client = client(url, tls)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(response_timeout))
        // Reconnect attempts happen in the background of the next command; keep them short so a
        // caller with a 250 ms budget is answered by its own timeout, not by our retry loop.
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500));
    client.get_connection_manager_lazy(config)
}

/// Checks that Redis answers a PING within `within`.
pub async fn ping(conn: &mut ConnectionManager, within: Duration) -> bool {
    let cmd = redis::cmd("PING");
    matches!(
        tokio::time::timeout(within, cmd.query_async::<String>(conn)).await,
        Ok(Ok(_))
    )
}

/// The whole Unix second a job due at `at` may run from, rounded up: apalis-redis schedules by the
/// second, and a delayed job must never run early.
pub fn run_at_secs(at: SystemTime) -> u64 {
    let d = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// The Unix second a job is due at: `at` rounded up ([`run_at_secs`]), or for `None` (due now)
/// the current second rounded down, as apalis-redis's own push writes it: rounded up, every job
/// would wait for the next second before a worker saw it.
pub fn due_at(at: Option<SystemTime>) -> u64 {
    match at {
        Some(at) => run_at_secs(at),
        None => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dedup_namespace_names_no_lane() {
        let key = dedup_key_name("sluice", &crate::job::telegram_key("bot", 42));
        assert_eq!(key, "sluice:idempotency:tg:bot:42");
        for lane in Lane::ALL {
            assert!(!key.starts_with(&lane.queue_name("sluice")));
        }
    }
}
