//! `local` scope: the GCRA decision on governor's in-process state, one set of buckets per
//! process (so N replicas admit up to N× the limits).
//!
//! State lives in governor's stores (an atomic TAT for the global bucket, DashMaps keyed by bot
//! and by (bot, chat)); [`super::gcra`] decides. Idle keys are evicted by [`LocalLimiter::evict_idle`],
//! which the api runs every [`EVICT_EVERY`]: a key whose TAT has passed is a full bucket, so
//! dropping it changes no decision, and memory is bounded by the chats active within one bucket
//! period (tolerance + interval; 15 s at the default 20/min, burst 5).

use std::{
    sync::Mutex,
    time::{Duration, SystemTime},
};

use governor::{
    clock::{Clock, DefaultClock, Reference},
    nanos::Nanos,
    state::{
        InMemoryState, NotKeyed, StateStore,
        keyed::{DashMapStateStore, ShrinkableKeyedStateStore},
    },
};

use super::{
    Ask, Verdict,
    gcra::{self, Bucket, Decision, Quota},
    policy::Limit,
};

/// How often idle keys are evicted.
pub const EVICT_EVERY: Duration = Duration::from_secs(10);

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// A chat bucket's key: the bot's id and the chat (or user) id.
type ChatKey = (i64, i64);

pub struct LocalLimiter<C: Clock = DefaultClock> {
    clock: C,
    start: C::Instant,
    /// Reading three buckets, deciding and committing is one step: without it two concurrent
    /// updates could both take the last cell. Held for well under a microsecond.
    step: Mutex<()>,
    global: InMemoryState,
    bots: DashMapStateStore<i64>,
    chats: DashMapStateStore<ChatKey>,
}

impl Default for LocalLimiter {
    fn default() -> Self {
        LocalLimiter::with_clock(DefaultClock::default())
    }
}

impl<C: Clock> LocalLimiter<C> {
    /// A limiter on `clock` (tests pass governor's `FakeRelativeClock`).
    pub fn with_clock(clock: C) -> Self {
        let start = clock.now();
        LocalLimiter {
            clock,
            start,
            step: Mutex::new(()),
            global: InMemoryState::default(),
            bots: DashMapStateStore::default(),
            chats: DashMapStateStore::default(),
        }
    }

    fn now(&self) -> u64 {
        self.clock.now().duration_since(self.start).as_u64()
    }

    /// Decides for one update and commits the buckets it passes.
    pub fn check(&self, ask: &Ask<'_>) -> Verdict {
        let now = self.now();
        let max_delay = u64::try_from(ask.max_delay.as_nanos()).unwrap_or(u64::MAX);
        let quotas = ask
            .rates
            .map(|r| Quota::new(r.per_sec, r.burst, NANOS_PER_SEC));
        let _step = self.step.lock().unwrap_or_else(|p| p.into_inner());
        let chat = ask.chat.map(|c| (ask.bot_id, c));
        let tats = [
            read(&self.global),
            self.bots.get(&ask.bot_id).and_then(|s| read(&s)),
            chat.and_then(|k| self.chats.get(&k)).and_then(|s| read(&s)),
        ];
        let limits = [Limit::Global, Limit::Bot, Limit::Chat];
        let met = if chat.is_some() { 3 } else { 2 };
        let buckets: [Bucket; 3] = std::array::from_fn(|i| Bucket {
            limit: limits[i],
            quota: quotas[i],
            policy: ask.policies[i],
            tat: tats[i],
        });
        let decision = gcra::decide(now, &buckets[..met], max_delay);
        let at = match decision {
            Decision::Admit => now,
            Decision::Delay { at } => at,
            Decision::Drop { limit } => return Verdict::Drop(limit),
            Decision::Reject { limit, at } => {
                return Verdict::Reject {
                    limit,
                    wait: Duration::from_nanos(at - now),
                };
            }
        };
        write(&self.global, &NotKeyed::NonKey, now, at, quotas[0]);
        write(&self.bots, &ask.bot_id, now, at, quotas[1]);
        if let Some(k) = chat {
            write(&self.chats, &k, now, at, quotas[2]);
        }
        if at == now {
            Verdict::Admit
        } else {
            Verdict::Delay {
                until: SystemTime::now() + Duration::from_nanos(at - now),
            }
        }
    }

    /// Drops the keys whose bucket is full again (TAT passed), and gives memory back once most
    /// of the map is gone. Holds each DashMap shard's lock while it sweeps that shard.
    pub fn evict_idle(&self) {
        let now = Nanos::from(self.now());
        for store in [&self.chats as &dyn Shrink, &self.bots as &dyn Shrink] {
            store.evict(now);
        }
    }

    /// Chat keys currently held.
    pub fn chat_keys(&self) -> usize {
        self.chats.len()
    }
}

/// The stored TAT, without changing it. Keyed stores are read with `get`, so a refused update
/// never adds a key.
fn read(state: &InMemoryState) -> Option<u64> {
    // Answering Err leaves the state as it was and hands the TAT out.
    let tat: Result<(), Option<Nanos>> = state.measure_and_replace(&NotKeyed::NonKey, Err);
    tat.err().flatten().map(Nanos::as_u64)
}

fn write<S: StateStore>(store: &S, key: &S::Key, now: u64, at: u64, quota: Quota) {
    let _: Result<(), ()> = store.measure_and_replace(key, |tat| {
        let next = gcra::commit(tat.map(Nanos::as_u64), now, at, quota);
        Ok(((), Nanos::from(next)))
    });
}

/// A keyed store that can evict its idle keys, whatever its key type.
trait Shrink {
    fn evict(&self, now: Nanos);
}

impl<K: std::hash::Hash + Eq + Clone> Shrink for DashMapStateStore<K> {
    fn evict(&self, now: Nanos) {
        self.retain_recent(now);
        // Shrinking rehashes every shard: worth it only when most of the table is empty.
        if ShrinkableKeyedStateStore::len(self) * 4 < self.capacity() {
            ShrinkableKeyedStateStore::shrink_to_fit(self);
        }
    }
}

#[cfg(test)]
mod tests;
