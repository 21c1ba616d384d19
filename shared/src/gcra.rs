//! The GCRA quota both Redis limiters share: ingress admission (`api/src/admission`) and the Bot
//! API limiter (`botapi/src/limiter`). Each keeps its own script, since they decide different
//! things, but both express a rate and a burst the same way.

/// A rate and a burst in ticks: one cell per `t`, and up to `tau / t + 1` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Emission interval: ticks per cell.
    pub t: u64,
    /// Tolerance: how far ahead of time the bucket may run, `t × (burst − 1)`.
    pub tau: u64,
}

impl Quota {
    /// `per_sec` cells per second with bursts of `burst`, on a clock of `ticks` per second.
    /// The interval is rounded up, so the configured rate is never exceeded.
    pub fn new(per_sec: f64, burst: u32, ticks: u64) -> Quota {
        let t = (ticks as f64 / per_sec)
            .ceil()
            .clamp(1.0, u64::MAX as f64 / 4.0) as u64;
        Quota {
            t,
            tau: t.saturating_mul(u64::from(burst.max(1) - 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Quota;

    #[test]
    fn the_interval_rounds_up_and_the_burst_sets_the_tolerance() {
        let q = Quota::new(3.0, 4, 1_000_000);
        assert_eq!(q.t, 333_334);
        assert_eq!(q.tau, 3 * 333_334);
        assert_eq!(Quota::new(1e12, 1, 1_000).t, 1);
    }
}
