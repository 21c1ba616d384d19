//! The live lane consumers, read where apalis-redis keeps them: per lane a sorted set of
//! consumer names scored by their last heartbeat (Unix s), and per consumer a set of the jobs it
//! holds in flight. A consumer that stopped or died stays in its set until another worker's
//! orphan recovery takes its jobs (after `SLUICE_ORPHAN_TIMEOUT`): apalis-redis 1.0's clean-up on
//! a stop removes the wrong member. Its heartbeat ages meanwhile, and it shows as stale.

use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::aio::ConnectionManager;
use serde::Serialize;
use sluice_shared::{
    lanes::Lane,
    queue::{QueueConfig, lane_config},
};

/// A heartbeat older than this is stale: three heartbeats of a worker with the default
/// `SLUICE_ORPHAN_TIMEOUT` (60 s, a heartbeat every 15 s). The console cannot read a worker's
/// own setting, so this is the default's.
pub const STALE_AFTER: Duration = Duration::from_secs(45);

/// One lane consumer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Consumer {
    /// apalis's worker name: `{worker id}-{lane}-{incarnation}`.
    pub name: String,
    pub lane: &'static str,
    /// The pod or host it runs on (the worker id without its random suffix).
    pub host: String,
    /// Unix seconds.
    pub last_heartbeat: u64,
    /// Jobs fetched and not yet acknowledged.
    pub in_flight: u64,
}

impl Consumer {
    pub fn last_heartbeat_at(&self) -> DateTime<Utc> {
        let secs = i64::try_from(self.last_heartbeat).unwrap_or(i64::MAX);
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    /// Silent for longer than [`STALE_AFTER`] at `now`: stopped, dead, or cut off from Redis.
    pub fn stale(&self, now: DateTime<Utc>) -> bool {
        (now - self.last_heartbeat_at())
            .to_std()
            .unwrap_or_default()
            > STALE_AFTER
    }
}

#[derive(Clone)]
pub struct Workers {
    redis: ConnectionManager,
    prefix: String,
}

impl Workers {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Workers {
        Workers {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    /// apalis-redis's key names for `lane`, from the same config the worker builds.
    fn keys(&self, lane: Lane) -> (String, String) {
        // The dedup window does not name any key read here.
        let queue = QueueConfig {
            dedup_ttl: Duration::from_secs(1),
        };
        let cfg = lane_config(&self.prefix, lane, &queue);
        (cfg.workers_set(), cfg.inflight_jobs_set())
    }

    /// Every consumer of every lane, by lane (high first) then name. Two round trips: the sets, then one
    /// `SCARD` per consumer (a few per worker process).
    pub async fn list(&self) -> redis::RedisResult<Vec<Consumer>> {
        let mut conn = self.redis.clone();
        let mut pipe = redis::pipe();
        for lane in Lane::ALL {
            pipe.zrange_withscores(self.keys(lane).0, 0, -1);
        }
        let sets: Vec<Vec<(String, f64)>> = pipe.query_async(&mut conn).await?;
        let mut consumers = Vec::new();
        let mut counts = redis::pipe();
        for (lane, mut members) in Lane::ALL.into_iter().zip(sets) {
            let inflight = self.keys(lane).1;
            members.sort_by(|a, b| a.0.cmp(&b.0));
            for (name, score) in members {
                counts.scard(format!("{inflight}:{name}"));
                consumers.push(Consumer {
                    host: host_of(&name, lane),
                    name,
                    lane: lane.as_str(),
                    last_heartbeat: score.max(0.0) as u64,
                    in_flight: 0,
                });
            }
        }
        if consumers.is_empty() {
            return Ok(consumers);
        }
        let held: Vec<u64> = counts.query_async(&mut conn).await?;
        for (c, n) in consumers.iter_mut().zip(held) {
            c.in_flight = n;
        }
        Ok(consumers)
    }
}

/// The host part of `{host}-{6 hex}-{lane}-{incarnation}`, or `{lane}.{consumer}` for a lane's
/// second and later consumers (see the worker's `identity` and startup); the whole name when it
/// has another shape.
fn host_of(name: &str, lane: Lane) -> String {
    let mut parts = name.rsplitn(4, '-');
    let (incarnation, l, suffix, host) = (parts.next(), parts.next(), parts.next(), parts.next());
    let of_lane = |l: &str| match l.split_once('.') {
        Some((l, consumer)) => l == lane.as_str() && consumer.parse::<u8>().is_ok(),
        None => l == lane.as_str(),
    };
    let shaped = incarnation.is_some_and(|i| i.parse::<u64>().is_ok())
        && l.is_some_and(of_lane)
        && suffix.is_some_and(|s| s.len() == 6 && s.chars().all(|c| c.is_ascii_hexdigit()));
    match (shaped, host) {
        (true, Some(h)) if !h.is_empty() => h.to_owned(),
        _ => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_is_stale_once_its_heartbeat_is_older_than_three_beats() {
        let c = Consumer {
            name: "pod-0a1b2c-low-0".into(),
            lane: "low",
            host: "pod".into(),
            last_heartbeat: 1_796_299_200,
            in_flight: 0,
        };
        let at = |s: i64| DateTime::from_timestamp(1_796_299_200 + s, 0).unwrap();
        assert!(!c.stale(at(-5)), "a heartbeat from the future is not stale");
        assert!(!c.stale(at(45)));
        assert!(c.stale(at(46)));
    }

    #[test]
    fn the_host_is_the_worker_id_without_its_suffix() {
        assert_eq!(
            host_of("sluice-worker-7d9f-abc-0a1b2c-normal-3", Lane::Normal),
            "sluice-worker-7d9f-abc"
        );
        assert_eq!(host_of("pod-0a1b2c-high-0", Lane::High), "pod");
        assert_eq!(host_of("pod-0a1b2c-high-0", Lane::Low), "pod-0a1b2c-high-0");
        assert_eq!(host_of("someone-else", Lane::Low), "someone-else");
        assert_eq!(
            host_of("pod-0a1b2c-high.1-4", Lane::High),
            "pod",
            "a second consumer"
        );
        assert_eq!(
            host_of("pod-0a1b2c-high.x-4", Lane::High),
            "pod-0a1b2c-high.x-4"
        );
    }
}
