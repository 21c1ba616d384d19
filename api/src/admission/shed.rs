//! Load shedding: each lane's backlog, sampled from Redis at most every [`SAMPLE_EVERY`], against
//! its `SLUICE_SHED_DEPTH_<LANE>`. Requests read the last sample; they never query Redis.
//!
//! A lane is shed when its backlog (pending + scheduled jobs) is past its threshold, or when a
//! more urgent lane is shed: so the low lane is always shed first and the high lane never while
//! another lane is admitted, whatever the backlogs.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::aio::ConnectionManager;
use sluice_shared::{
    lanes::Lane,
    queue::{QueueConfig, lane_config},
};

/// The sampling period: a backlog is at most this old when a request reads it.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// One lane's backlog at the last sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Due jobs: the active list and the scheduled jobs whose time has come.
    pub pending: u64,
    /// Jobs scheduled for later (delayed by a `delay` policy).
    pub scheduled: u64,
}

impl Backlog {
    pub fn total(&self) -> u64 {
        self.pending + self.scheduled
    }
}

#[derive(Clone)]
pub struct Shedder {
    inner: Arc<Inner>,
}

struct Inner {
    /// High, normal, low; `None` never sheds that lane on its own backlog.
    thresholds: [Option<u64>; 3],
    shed: [AtomicBool; 3],
    retry_after: Duration,
}

impl Shedder {
    pub fn new(thresholds: [Option<u64>; 3], retry_after: Duration) -> Self {
        Shedder {
            inner: Arc::new(Inner {
                thresholds,
                shed: Default::default(),
                retry_after,
            }),
        }
    }

    /// Whether any lane can ever be shed (no sampling is needed otherwise).
    pub fn enabled(&self) -> bool {
        self.inner.thresholds.iter().any(Option::is_some)
    }

    /// `Some(Retry-After)` when new updates of `lane` are to be refused.
    pub fn check(&self, lane: Lane) -> Option<Duration> {
        self.inner.shed[lane.index()]
            .load(Ordering::Relaxed)
            .then_some(self.inner.retry_after)
    }

    /// Takes a sample (high, normal, low) and sets which lanes are shed; `None` (Redis did not
    /// answer) sheds nothing: the enqueue then decides, and it answers 503 on its own.
    pub fn apply(&self, backlogs: Option<[Backlog; 3]>) {
        let mut shed_above = false;
        for lane in Lane::ALL {
            let i = lane.index();
            let own = match (backlogs, self.inner.thresholds[i]) {
                (Some(b), Some(limit)) => b[i].total() > limit,
                _ => false,
            };
            // Lane::ALL runs high → low: a lane is shed too when a more urgent one is.
            let shed = backlogs.is_some() && (own || shed_above);
            shed_above = shed;
            let was = self.inner.shed[i].swap(shed, Ordering::Relaxed);
            if was != shed {
                let b = backlogs.map(|b| b[i]).unwrap_or_default();
                if shed {
                    tracing::warn!(lane = lane.as_str(), pending = b.pending, scheduled = b.scheduled,
                        threshold = ?self.inner.thresholds[i], "shedding the lane: new updates get 503");
                } else {
                    tracing::info!(
                        lane = lane.as_str(),
                        pending = b.pending,
                        scheduled = b.scheduled,
                        "lane no longer shed"
                    );
                }
            }
        }
    }

    /// Samples the backlogs every [`SAMPLE_EVERY`] until the task is aborted.
    pub fn spawn_sampler(
        &self,
        conn: ConnectionManager,
        prefix: &str,
        queue: &QueueConfig,
    ) -> tokio::task::JoinHandle<()> {
        let keys = Lane::ALL.map(|lane| {
            let c = lane_config(prefix, lane, queue);
            (c.active_jobs_list(), c.scheduled_jobs_set())
        });
        let shedder = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let sample = tokio::time::timeout(SAMPLE_EVERY, sample(conn.clone(), &keys)).await;
                shedder.apply(sample.ok().and_then(Result::ok));
            }
        })
    }
}

/// One pipeline, three O(log n) commands per lane. apalis-redis pushes every task through the
/// scheduled set (score: run time in Unix seconds) and a worker's fetch promotes the due ones to
/// the active list, so "pending" is the list plus the due part of the set.
pub async fn sample(
    mut conn: ConnectionManager,
    keys: &[(String, String); 3],
) -> redis::RedisResult<[Backlog; 3]> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut pipe = redis::pipe();
    for (active, scheduled) in keys {
        pipe.llen(active).zcount(scheduled, "-inf", now).zcount(
            scheduled,
            format!("({now}"),
            "+inf",
        );
    }
    let counts: Vec<u64> = pipe.query_async(&mut conn).await?;
    let lane = |i: usize| Backlog {
        pending: counts[3 * i] + counts[3 * i + 1],
        scheduled: counts[3 * i + 2],
    };
    Ok([lane(0), lane(1), lane(2)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog(n: u64) -> Backlog {
        Backlog {
            pending: n,
            scheduled: 0,
        }
    }

    fn shed(s: &Shedder) -> [bool; 3] {
        Lane::ALL.map(|l| s.check(l).is_some())
    }

    #[test]
    fn a_lane_past_its_threshold_is_shed() {
        let s = Shedder::new([None, Some(100), Some(10)], Duration::from_secs(5));
        s.apply(Some([backlog(1_000_000), backlog(5), backlog(11)]));
        assert_eq!(shed(&s), [false, false, true]);
        assert_eq!(s.check(Lane::Low), Some(Duration::from_secs(5)));
        s.apply(Some([backlog(0), backlog(0), backlog(10)]));
        assert_eq!(
            shed(&s),
            [false, false, false],
            "at the threshold is not past it"
        );
    }

    #[test]
    fn the_high_lane_is_never_shed_before_the_others() {
        let s = Shedder::new([Some(50), Some(40), Some(30)], Duration::from_secs(5));
        s.apply(Some([backlog(51), backlog(0), backlog(0)]));
        assert_eq!(shed(&s), [true, true, true]);
        s.apply(Some([backlog(0), backlog(41), backlog(0)]));
        assert_eq!(shed(&s), [false, true, true]);
    }

    #[test]
    fn scheduled_jobs_count_and_no_sample_sheds_nothing() {
        let s = Shedder::new([None, None, Some(10)], Duration::from_secs(5));
        let b = Backlog {
            pending: 6,
            scheduled: 5,
        };
        s.apply(Some([b, b, b]));
        assert_eq!(shed(&s), [false, false, true]);
        s.apply(None);
        assert_eq!(shed(&s), [false, false, false]);
    }
}
