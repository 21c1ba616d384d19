//! The lanes: depth by state and oldest age now (`sluice_shared::queue::depth`), and a history
//! of one sample per [`EVERY`] over [`KEEP`], kept in Redis by [`run_sampler`].
//!
//! Rates need a count of arrivals, which Redis does not keep: each api replica counts the jobs
//! it queued ([`Arrivals`], one atomic add per pushed batch) and adds what it queued since its
//! last tick to the bucket of that tick in Redis, so the buckets hold every replica's share.
//! Departures are what arrived minus what the lane grew by (waiting, in flight and dead).
//! The depth samples are written once per bucket, by the replica that claims it first.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::aio::ConnectionManager;
use serde::Serialize;
use sluice_shared::{
    lanes::{Lane, PerLane},
    queue::depth::{self, LaneDepth},
};

/// One history sample per this.
pub const EVERY: Duration = Duration::from_secs(30);
/// The history's span.
pub const KEEP: Duration = Duration::from_secs(3600);

/// Jobs this process queued, per lane, since it started.
#[derive(Clone, Default)]
pub struct Arrivals(Arc<PerLane<AtomicU64>>);

impl Arrivals {
    pub fn record(&self, lane: Lane, jobs: u64) {
        self.0[lane].fetch_add(jobs, Ordering::Relaxed);
    }

    fn total(&self, lane: Lane) -> u64 {
        self.0[lane].load(Ordering::Relaxed)
    }
}

/// One lane now, with its last hour.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LaneNow {
    /// `high`, `normal` or `low`.
    pub lane: &'static str,
    pub pending: u64,
    pub scheduled: u64,
    pub inflight: u64,
    pub dead: u64,
    /// Age of the oldest pending job in seconds; `None` when nothing is pending.
    pub oldest_age_seconds: Option<f64>,
    /// Over the last sampled interval.
    pub in_per_sec: f64,
    pub out_per_sec: f64,
    pub history: Vec<Point>,
}

/// One history sample.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Point {
    /// Unix seconds.
    pub at: u64,
    /// Pending plus scheduled.
    pub waiting: u64,
    pub inflight: u64,
    pub dead: u64,
    pub in_per_sec: f64,
    pub out_per_sec: f64,
}

#[derive(Clone)]
pub struct Lanes {
    redis: ConnectionManager,
    prefix: String,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn bucket(at: u64) -> u64 {
    at - at % EVERY.as_secs()
}

impl Lanes {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Lanes {
        Lanes {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    fn history_key(&self, lane: Lane) -> String {
        format!("{}:console:history:{}", self.prefix, lane.as_str())
    }

    fn arrivals_key(&self, lane: Lane, bucket: u64) -> String {
        format!(
            "{}:console:arrivals:{}:{bucket}",
            self.prefix,
            lane.as_str()
        )
    }

    /// Every lane now, with its history: one depth script call, then per lane one range of at
    /// most `KEEP / EVERY` samples and one MGET of their arrival counts.
    pub async fn now(&self) -> redis::RedisResult<Vec<LaneNow>> {
        let mut conn = self.redis.clone();
        let depths = depth::sample(&mut conn, &self.prefix).await?;
        let since = now_secs().saturating_sub(KEEP.as_secs());
        let mut out = Vec::with_capacity(3);
        for (lane, d) in depths.iter() {
            let raw: Vec<String> = redis::cmd("ZRANGEBYSCORE")
                .arg(self.history_key(lane))
                .arg(since)
                .arg("+inf")
                .query_async(&mut conn)
                .await?;
            let samples: Vec<(u64, u64, u64, u64)> = raw.iter().filter_map(|s| parse(s)).collect();
            let arrived: Vec<Option<u64>> = match samples.is_empty() {
                true => Vec::new(),
                false => {
                    let keys: Vec<String> = samples
                        .iter()
                        .map(|s| self.arrivals_key(lane, s.0))
                        .collect();
                    redis::cmd("MGET").arg(keys).query_async(&mut conn).await?
                }
            };
            out.push(lane_now(lane, d, &points(&samples, &arrived)));
        }
        Ok(out)
    }

    /// One tick of the sampler: this replica's arrivals into the bucket, and the depth sample
    /// if no replica wrote this bucket yet.
    pub async fn tick(
        &self,
        arrivals: &Arrivals,
        last: &mut PerLane<u64>,
    ) -> redis::RedisResult<()> {
        let mut conn = self.redis.clone();
        let at = bucket(now_secs());
        let ttl = KEEP.as_secs() + 2 * EVERY.as_secs();
        let mut pipe = redis::pipe();
        for lane in Lane::ALL {
            let total = arrivals.total(lane);
            let delta = total - last[lane];
            last[lane] = total;
            let key = self.arrivals_key(lane, at);
            pipe.cmd("INCRBY").arg(&key).arg(delta).ignore();
            pipe.cmd("EXPIRE").arg(&key).arg(ttl).ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        let claim = format!("{}:console:sampled:{at}", self.prefix);
        let claimed: Option<String> = redis::cmd("SET")
            .arg(&claim)
            .arg(1)
            .arg("NX")
            .arg("EX")
            .arg(4 * EVERY.as_secs())
            .query_async(&mut conn)
            .await?;
        if claimed.is_none() {
            return Ok(());
        }
        let depths = depth::sample(&mut conn, &self.prefix).await?;
        let mut pipe = redis::pipe();
        for (lane, d) in depths.iter() {
            let member = format!("{at}:{}:{}:{}", d.backlog(), d.inflight, d.dead);
            let key = self.history_key(lane);
            pipe.cmd("ZADD").arg(&key).arg(at).arg(member).ignore();
            let old = at.saturating_sub(KEEP.as_secs());
            pipe.cmd("ZREMRANGEBYSCORE")
                .arg(&key)
                .arg("-inf")
                .arg(format!("({old}"))
                .ignore();
            pipe.cmd("EXPIRE").arg(&key).arg(ttl).ignore();
        }
        pipe.query_async::<()>(&mut conn).await
    }
}

/// Samples the lanes every [`EVERY`] until aborted; a failed tick is logged and the next one
/// tries again (a gap in a chart, nothing worse).
pub async fn run_sampler(lanes: Lanes, arrivals: Arrivals) {
    let mut last = PerLane::from_fn(|lane| arrivals.total(lane));
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = lanes.tick(&arrivals, &mut last).await {
            tracing::debug!(error = %e, "console: lane sample skipped");
        }
    }
}

/// `at:waiting:inflight:dead`.
fn parse(s: &str) -> Option<(u64, u64, u64, u64)> {
    let mut it = s.split(':').map(|v| v.parse::<u64>().ok());
    Some((it.next()??, it.next()??, it.next()??, it.next()??))
}

/// Points with rates: what arrived in each sample's bucket, and what left (arrived minus what
/// the lane grew by) over the time since the previous sample.
fn points(samples: &[(u64, u64, u64, u64)], arrived: &[Option<u64>]) -> Vec<Point> {
    let mut out = Vec::with_capacity(samples.len());
    for (i, &(at, waiting, inflight, dead)) in samples.iter().enumerate() {
        let came = arrived.get(i).copied().flatten().unwrap_or(0);
        let (in_per_sec, out_per_sec) = match i.checked_sub(1).map(|p| samples[p]) {
            Some((before, w0, i0, d0)) if at > before => {
                let dt = (at - before) as f64;
                let grew = (waiting + inflight + dead) as f64 - (w0 + i0 + d0) as f64;
                (came as f64 / dt, ((came as f64 - grew) / dt).max(0.0))
            }
            _ => (came as f64 / EVERY.as_secs_f64(), 0.0),
        };
        out.push(Point {
            at,
            waiting,
            inflight,
            dead,
            in_per_sec,
            out_per_sec,
        });
    }
    out
}

fn lane_now(lane: Lane, d: &LaneDepth, history: &[Point]) -> LaneNow {
    let last = history.last();
    LaneNow {
        lane: lane.as_str(),
        pending: d.pending,
        scheduled: d.scheduled,
        inflight: d.inflight,
        dead: d.dead,
        oldest_age_seconds: (d.pending > 0).then_some(d.oldest_age.as_secs_f64()),
        in_per_sec: last.map_or(0.0, |p| p.in_per_sec),
        out_per_sec: last.map_or(0.0, |p| p.out_per_sec),
        history: history.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn departures_are_arrivals_minus_growth_per_second() {
        let samples = [(1000, 10, 2, 0), (1030, 40, 2, 0), (1060, 0, 0, 1)];
        let arrived = [Some(5), Some(60), None];
        let p = points(&samples, &arrived);
        assert_eq!(p[0].in_per_sec, 5.0 / 30.0);
        assert_eq!(
            p[0].out_per_sec, 0.0,
            "no previous sample: no departures known"
        );
        // 60 arrived, the lane grew by 30: 30 left in 30 s.
        assert_eq!((p[1].in_per_sec, p[1].out_per_sec), (2.0, 1.0));
        // Nothing arrived, the lane shrank by 41 (one went dead: still in the lane's count).
        assert_eq!((p[2].in_per_sec, p[2].out_per_sec), (0.0, 41.0 / 30.0));
        assert_eq!(parse("1:2:3:4"), Some((1, 2, 3, 4)));
        assert_eq!(parse("1:2:x:4"), None);
    }
}
