//! Admission's decisions as one api replica counts them between two flushes ([`Tally`]): a
//! counter per lane and decision, and the refusals of each limited bot and chat.
//!
//! The webhook's hot path pays one relaxed atomic add per decision. A refusal also takes one of
//! [`SHARDS`] locks, for a map of at most [`PER_SHARD`] subjects: a flood of distinct chats
//! fills it, and further newcomers are not tracked until the next flush empties it (their
//! decisions are still counted by lane). A chat refused often enough to matter is refused again
//! soon after a flush, and is in the map again by then.

use std::{
    collections::HashMap,
    hash::{BuildHasher, BuildHasherDefault, DefaultHasher},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use sluice_shared::lanes::{Lane, PerLane};

/// The decisions counted, as `sluice_admission_total`'s `decision` label names them.
pub const DECISIONS: [&str; 8] = [
    "admitted",
    "delayed",
    "dropped",
    "rejected_global",
    "rejected_bot",
    "rejected_chat",
    "shed",
    "duplicate",
];

/// Locks the refusals are spread over, so concurrent refusals rarely meet.
pub const SHARDS: usize = 16;
/// Subjects each shard tracks between two flushes: the memory bound.
pub const PER_SHARD: usize = 256;
/// Subjects of each kind a flush writes: the most refused.
pub const TOP_PER_FLUSH: usize = 50;

/// The bucket that refused: a bot's (or a source's, `src:<name>`), or one chat of a bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refused<'a> {
    Bot(&'a str),
    Chat(&'a str, i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Owned {
    Bot(Box<str>),
    Chat(Box<str>, i64),
}

impl Owned {
    fn is(&self, r: &Refused<'_>) -> bool {
        match (self, r) {
            (Owned::Bot(a), Refused::Bot(b)) => &**a == *b,
            (Owned::Chat(a, x), Refused::Chat(b, y)) => &**a == *b && x == y,
            _ => false,
        }
    }
}

#[derive(Default)]
struct Shard {
    /// By the subject's hash, so that a lookup allocates nothing.
    subjects: HashMap<u64, (Owned, u64)>,
}

struct Inner {
    counts: PerLane<[AtomicU64; DECISIONS.len()]>,
    shards: [Mutex<Shard>; SHARDS],
}

/// This replica's decisions since the last flush; cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Tally(Arc<Inner>);

impl Default for Tally {
    fn default() -> Tally {
        Tally(Arc::new(Inner {
            counts: PerLane::from_fn(|_| Default::default()),
            shards: std::array::from_fn(|_| Mutex::default()),
        }))
    }
}

/// What a flush takes: the counts, and the most refused subjects of each kind.
#[derive(Debug, Default, PartialEq)]
pub struct Drained {
    pub counts: Vec<(Lane, &'static str, u64)>,
    /// Bot name, refusals; most refused first.
    pub bots: Vec<(String, u64)>,
    /// Bot name, chat, refusals; most refused first.
    pub chats: Vec<(String, i64, u64)>,
}

impl Drained {
    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.bots.is_empty() && self.chats.is_empty()
    }
}

fn hash(r: &Refused<'_>) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(r)
}

impl Tally {
    /// Counts one decision (a label of [`DECISIONS`]; another is a bug, ignored) and, when a
    /// bot's or a chat's bucket refused, that subject.
    pub fn record(&self, lane: Lane, decision: &str, refused: Option<Refused<'_>>) {
        let Some(i) = DECISIONS.iter().position(|d| *d == decision) else {
            debug_assert!(false, "unknown admission decision {decision}");
            return;
        };
        self.0.counts[lane][i].fetch_add(1, Ordering::Relaxed);
        let Some(r) = refused else { return };
        let h = hash(&r);
        let mut shard = self.0.shards[h as usize % SHARDS]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let full = shard.subjects.len() >= PER_SHARD;
        match shard.subjects.get_mut(&h) {
            Some((owned, n)) if owned.is(&r) => *n += 1,
            // Another subject with the same 64-bit hash: too rare to be worth a slot.
            Some(_) => {}
            None if full => {}
            None => {
                let owned = match r {
                    Refused::Bot(b) => Owned::Bot(b.into()),
                    Refused::Chat(b, c) => Owned::Chat(b.into(), c),
                };
                shard.subjects.insert(h, (owned, 1));
            }
        }
    }

    /// Subjects tracked now (at most `SHARDS * PER_SHARD`).
    pub fn tracked(&self) -> usize {
        let lock = |s: &Mutex<Shard>| s.lock().map_or(0, |s| s.subjects.len());
        self.0.shards.iter().map(lock).sum()
    }

    /// Takes everything counted since the last drain (the counters restart from zero).
    pub fn drain(&self) -> Drained {
        let mut out = Drained::default();
        for lane in Lane::ALL {
            for (i, decision) in DECISIONS.iter().enumerate() {
                let n = self.0.counts[lane][i].swap(0, Ordering::Relaxed);
                if n > 0 {
                    out.counts.push((lane, decision, n));
                }
            }
        }
        for shard in &self.0.shards {
            // Swapped out under the lock, sorted outside it.
            let taken =
                std::mem::take(&mut shard.lock().unwrap_or_else(|p| p.into_inner()).subjects);
            for (owned, n) in taken.into_values() {
                match owned {
                    Owned::Bot(b) => out.bots.push((b.into(), n)),
                    Owned::Chat(b, c) => out.chats.push((b.into(), c, n)),
                }
            }
        }
        out.bots
            .sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out.bots.truncate(TOP_PER_FLUSH);
        out.chats
            .sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, a.1).cmp(&(&b.0, b.1))));
        out.chats.truncate(TOP_PER_FLUSH);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_lane_and_decision_and_ranks_the_refused() {
        let t = Tally::default();
        for _ in 0..3 {
            t.record(Lane::Normal, "rejected_chat", Some(Refused::Chat("a", -5)));
        }
        t.record(Lane::Normal, "rejected_chat", Some(Refused::Chat("a", 6)));
        t.record(Lane::High, "dropped", Some(Refused::Bot("a")));
        t.record(Lane::High, "admitted", None);
        let d = t.drain();
        assert_eq!(
            d.counts,
            vec![
                (Lane::High, "admitted", 1),
                (Lane::High, "dropped", 1),
                (Lane::Normal, "rejected_chat", 4)
            ]
        );
        assert_eq!(d.bots, vec![("a".to_owned(), 1)]);
        assert_eq!(
            d.chats,
            vec![("a".to_owned(), -5, 3), ("a".to_owned(), 6, 1)]
        );
        assert!(t.drain().is_empty(), "a drain restarts the counts");
    }

    #[test]
    fn a_flood_of_distinct_chats_stays_bounded_and_the_heavy_one_is_kept() {
        let t = Tally::default();
        for _ in 0..10 {
            t.record(Lane::Low, "rejected_chat", Some(Refused::Chat("b", 1)));
        }
        for chat in 0..100_000 {
            t.record(
                Lane::Low,
                "rejected_chat",
                Some(Refused::Chat("b", 1000 + chat)),
            );
        }
        assert!(t.tracked() <= SHARDS * PER_SHARD, "{}", t.tracked());
        assert!(t.tracked() > SHARDS * PER_SHARD / 2, "the shards fill up");
        let d = t.drain();
        assert_eq!(d.counts, vec![(Lane::Low, "rejected_chat", 100_010)]);
        assert_eq!(d.chats.len(), TOP_PER_FLUSH);
        assert_eq!(d.chats[0], ("b".to_owned(), 1, 10));
        assert_eq!(t.tracked(), 0, "a drain frees the map");
    }
}
