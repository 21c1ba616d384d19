//! The rate-limit decision: GCRA over the global, bot and chat buckets at once, as a pure
//! function of time.
//!
//! Both scopes make exactly this decision: [`super::local`] on governor's in-process state, and
//! [`super::redis`] in `ratelimit.lua`, which mirrors [`decide`] and [`commit`] line by line.
//! Time is a count of ticks (nanoseconds locally, microseconds in Redis). A bucket's state is its
//! theoretical arrival time (TAT); it admits a cell at `t` when `TAT - tau <= t`, and admitting
//! moves its TAT to `max(TAT, t) + T`. A bucket whose TAT is in the past is a full bucket, so a
//! missing state and an old one mean the same: that is what makes eviction lossless.

use super::policy::{Limit, Policy};

pub use sluice_shared::gcra::Quota;

/// One bucket as it stands when an update arrives.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub limit: Limit,
    pub quota: Quota,
    pub policy: Policy,
    /// The stored TAT; `None` for a bucket never used or evicted (a full bucket).
    pub tat: Option<u64>,
}

impl Bucket {
    /// The first time this bucket admits a cell.
    fn earliest(&self, now: u64) -> u64 {
        self.tat
            .unwrap_or(now)
            .max(now)
            .saturating_sub(self.quota.tau)
    }
}

/// What to do with one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Every bucket admits it now: commit each at `now`.
    Admit,
    /// Over a `delay` limit: admit it to run at `at`, and commit each bucket (see [`commit`]).
    Delay { at: u64 },
    /// Over a `drop` limit (and no `reject` one): answer 200, queue nothing, commit nothing.
    Drop { limit: Limit },
    /// Over a `reject` limit, or a delay longer than allowed: retry at `at`, commit nothing.
    Reject { limit: Limit, at: u64 },
}

/// Decides for an update arriving at `now` that meets `buckets` (global, bot, then chat).
///
/// The earliest time all buckets admit it is the latest of their earliest times. When that is
/// later than now, the limits it is over decide: any `reject` rejects (naming the first such
/// limit), else any `drop` drops, else it is delayed if the wait is at most `max_delay` and
/// rejected otherwise (naming the limit that sets the wait). Nothing is committed by refusals,
/// so a chat over its limit does not eat the bot's or the global budget.
pub fn decide(now: u64, buckets: &[Bucket], max_delay: u64) -> Decision {
    let mut at = now;
    let mut binding = None;
    for b in buckets {
        let earliest = b.earliest(now);
        if earliest > at {
            at = earliest;
            binding = Some(b.limit);
        }
    }
    let Some(binding) = binding else {
        return Decision::Admit;
    };
    let first_over = |policy: Policy| {
        buckets
            .iter()
            .find(|b| b.policy == policy && b.earliest(now) > now)
            .map(|b| b.limit)
    };
    if let Some(limit) = first_over(Policy::Reject) {
        return Decision::Reject { limit, at };
    }
    if let Some(limit) = first_over(Policy::Drop) {
        return Decision::Drop { limit };
    }
    if at - now > max_delay {
        return Decision::Reject { limit: binding, at };
    }
    Decision::Delay { at }
}

/// A bucket's TAT after admitting, at `now`, a cell that runs at `at` (`now` unless delayed).
///
/// A bucket over its limit books the cell at `at`, its earliest slot or later. A bucket with
/// room is charged now: it has one cursor, and booking a slot in the future would move it past
/// the whole gap and refuse every other update until then.
pub fn commit(tat: Option<u64>, now: u64, at: u64, quota: Quota) -> u64 {
    let tat = tat.unwrap_or(now).max(now);
    let when = if tat.saturating_sub(quota.tau) > now {
        at
    } else {
        now
    };
    tat.max(when) + quota.t
}

#[cfg(test)]
mod tests;
