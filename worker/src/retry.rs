//! Our retry policy (apalis-redis 1.0's own is a fixed 25 attempts at linear delays): exponential
//! backoff with jitter for transient failures, straight to the dead letters for permanent ones.

use std::time::Duration;

use crate::{backoff::Backoff, handler::HandlerError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; the last failure goes to the dead letters.
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

/// What becomes of a failed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Run it again after this delay, as attempt `next_attempt`.
    Retry { delay: Duration, next_attempt: u32 },
    /// Give up: keep it in the dead letters, with why.
    Dead { reason: String },
}

impl RetryPolicy {
    /// `attempt` is the 0-based attempt that just failed.
    pub fn decide(&self, attempt: u32, error: &HandlerError) -> Decision {
        match error {
            HandlerError::Permanent(why) => Decision::Dead {
                reason: format!("permanent: {why}"),
            },
            HandlerError::Transient { reason, .. } if attempt + 1 >= self.max_attempts => {
                Decision::Dead {
                    reason: format!("gave up after {} attempts: {reason}", attempt + 1),
                }
            }
            HandlerError::Transient { retry_after, .. } => {
                let mut backoff = Backoff::new(self.base, self.max);
                for _ in 0..attempt {
                    backoff.next_delay();
                }
                let jittered = backoff.next_delay();
                // A sender that names its own delay (HTTP 429 Retry-After) knows best, up to our
                // maximum: the value comes from outside, and `Retry-After: 99999999999` must not
                // park an update for 3 000 years (nor overflow the clock).
                let delay = retry_after
                    .map_or(jittered, |d| d.max(jittered))
                    .min(self.max);
                Decision::Retry {
                    delay,
                    next_attempt: attempt + 1,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(500),
            max: Duration::from_secs(60),
        }
    }

    fn transient() -> HandlerError {
        HandlerError::transient("db down")
    }

    #[test]
    fn permanent_errors_go_straight_to_the_dead_letters() {
        let d = policy().decide(0, &HandlerError::permanent("payload rejected"));
        assert!(matches!(d, Decision::Dead { reason } if reason.contains("payload rejected")));
    }

    #[test]
    fn transient_errors_back_off_exponentially_then_give_up() {
        let p = policy();
        let delays: Vec<Duration> = (0..7)
            .map(|a| match p.decide(a, &transient()) {
                Decision::Retry {
                    delay,
                    next_attempt,
                } => {
                    assert_eq!(next_attempt, a + 1);
                    delay
                }
                other => panic!("attempt {a}: {other:?}"),
            })
            .collect();
        assert!(delays[0] <= Duration::from_millis(500));
        assert!(delays[4] >= Duration::from_secs(4) && delays[4] <= Duration::from_secs(8));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(60)));
        assert!(matches!(p.decide(7, &transient()), Decision::Dead { .. }));
    }

    #[test]
    fn a_named_retry_after_is_honoured() {
        let e = HandlerError::Transient {
            reason: "429".into(),
            retry_after: Some(Duration::from_secs(30)),
        };
        match policy().decide(0, &e) {
            Decision::Retry { delay, .. } => assert!(delay >= Duration::from_secs(30)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_named_retry_after_is_clamped_to_the_maximum() {
        for secs in [u64::MAX, 99_999_999_999, 61] {
            let e = HandlerError::Transient {
                reason: "429".into(),
                retry_after: Some(Duration::from_secs(secs)),
            };
            match policy().decide(0, &e) {
                Decision::Retry { delay, .. } => assert_eq!(delay, Duration::from_secs(60)),
                other => panic!("{other:?}"),
            }
        }
    }
}
