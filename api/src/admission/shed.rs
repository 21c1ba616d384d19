//! Load shedding: each lane's backlog, as the api's one queue sampler reads it at most every
//! [`SAMPLE_EVERY`] (`sluice_shared::queue::depth`), against its `SLUICE_SHED_DEPTH_<LANE>`.
//! Requests read the last sample; they never query Redis.
//!
//! A lane is shed when its backlog (pending + scheduled jobs) is past its threshold, or when a
//! more urgent lane is shed: so the low lane is always shed first and the high lane never while
//! another lane is admitted, whatever the backlogs.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sluice_shared::{
    lanes::{Lane, PerLane},
    queue::depth::LaneDepth,
};

/// The sampling period while shedding is on: a backlog is at most this old when a request reads
/// it.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct Shedder {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` never sheds that lane on its own backlog.
    thresholds: PerLane<Option<u64>>,
    shed: PerLane<AtomicBool>,
    retry_after: Duration,
}

impl Shedder {
    pub fn new(thresholds: PerLane<Option<u64>>, retry_after: Duration) -> Self {
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
        self.inner.thresholds.values().any(Option::is_some)
    }

    /// `Some(Retry-After)` when new updates of `lane` are to be refused.
    pub fn check(&self, lane: Lane) -> Option<Duration> {
        self.inner.shed[lane]
            .load(Ordering::Relaxed)
            .then_some(self.inner.retry_after)
    }

    /// Takes a sample and sets which lanes are shed; `None` (Redis did not answer) sheds
    /// nothing: the enqueue then decides, and it answers 503 on its own.
    pub fn apply(&self, depths: Option<&PerLane<LaneDepth>>) {
        let mut shed_above = false;
        for lane in Lane::ALL {
            let own = match (depths, self.inner.thresholds[lane]) {
                (Some(d), Some(limit)) => d[lane].backlog() > limit,
                _ => false,
            };
            // Lane::ALL runs high → low: a lane is shed too when a more urgent one is.
            let shed = depths.is_some() && (own || shed_above);
            shed_above = shed;
            let was = self.inner.shed[lane].swap(shed, Ordering::Relaxed);
            if was != shed {
                let d = depths.map(|d| d[lane]).unwrap_or_default();
                if shed {
                    tracing::warn!(lane = lane.as_str(), pending = d.pending, scheduled = d.scheduled,
                        threshold = ?self.inner.thresholds[lane], "shedding the lane: new updates get 503");
                } else {
                    tracing::info!(
                        lane = lane.as_str(),
                        pending = d.pending,
                        scheduled = d.scheduled,
                        "lane no longer shed"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlog(n: u64) -> LaneDepth {
        LaneDepth {
            pending: n,
            ..LaneDepth::default()
        }
    }

    fn sample(high: LaneDepth, normal: LaneDepth, low: LaneDepth) -> PerLane<LaneDepth> {
        PerLane::from([high, normal, low])
    }

    fn shed(s: &Shedder) -> [bool; 3] {
        PerLane::from_fn(|l| s.check(l).is_some()).into_array()
    }

    fn thresholds(
        high: Option<u64>,
        normal: Option<u64>,
        low: Option<u64>,
    ) -> PerLane<Option<u64>> {
        PerLane::from([high, normal, low])
    }

    #[test]
    fn a_lane_past_its_threshold_is_shed() {
        let s = Shedder::new(
            thresholds(None, Some(100), Some(10)),
            Duration::from_secs(5),
        );
        s.apply(Some(&sample(backlog(1_000_000), backlog(5), backlog(11))));
        assert_eq!(shed(&s), [false, false, true]);
        assert_eq!(s.check(Lane::Low), Some(Duration::from_secs(5)));
        s.apply(Some(&sample(backlog(0), backlog(0), backlog(10))));
        assert_eq!(
            shed(&s),
            [false, false, false],
            "at the threshold is not past it"
        );
    }

    #[test]
    fn the_high_lane_is_never_shed_before_the_others() {
        let s = Shedder::new(
            thresholds(Some(50), Some(40), Some(30)),
            Duration::from_secs(5),
        );
        s.apply(Some(&sample(backlog(51), backlog(0), backlog(0))));
        assert_eq!(shed(&s), [true, true, true]);
        s.apply(Some(&sample(backlog(0), backlog(41), backlog(0))));
        assert_eq!(shed(&s), [false, true, true]);
    }

    #[test]
    fn scheduled_jobs_count_and_no_sample_sheds_nothing() {
        let s = Shedder::new(thresholds(None, None, Some(10)), Duration::from_secs(5));
        let b = LaneDepth {
            pending: 6,
            scheduled: 5,
            // Neither counts: they are no longer waiting.
            inflight: 100,
            dead: 100,
            ..LaneDepth::default()
        };
        s.apply(Some(&PerLane::splat(b)));
        assert_eq!(shed(&s), [false, false, true]);
        s.apply(None);
        assert_eq!(shed(&s), [false, false, false]);
    }
}
