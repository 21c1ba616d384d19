//! Hand-offs inside one worker: jobs of a key that this process fetched while another of its
//! jobs of that key holds (or is taking) the key wait here, in memory, instead of being parked in
//! Redis. The job that finishes hands the key straight to the waiting next one (one
//! `finish.lua` call records the move: `Orderer::finish` with `hand`), so a busy chat costs no
//! parking, no chain bytes and no second fetch; with a handler that only stores, the holder
//! writes the rows of the whole waiting run in its own statement and finishes them at once.
//!
//! Redis stays the authority: the key's first job here still takes its turn with `start.lua`,
//! and when the holder gives up the key any other way (nothing was waiting when it finished,
//! parked, retried, released, or a worker stopping) the lowest waiter takes over the lead and
//! asks Redis itself, as if it had arrived first; the others keep waiting behind it. Were they
//! all to ask Redis, the second would find the key held by the first and be parked, a fetch, a
//! copy and a chain for a key this very process runs. A waiter
//! is an apalis task of this worker that is not acknowledged until it has run (or was run by
//! the holder), so a crash re-delivers it after its lease like any job in flight; the key's
//! state in Redis names the job that holds it, which runs again first.
//!
//! Waiting occupies the waiter's place in its lane's fetch window, so waiters per key are
//! capped (`SLUICE_ORDER_LOCAL_WAIT`); past the cap a job parks in Redis as before.

use std::{
    collections::{BTreeMap, HashMap, btree_map},
    sync::{Arc, Mutex},
};

use sluice_shared::queue::order::OrderTag;
use tokio::sync::oneshot;

use crate::store::UpdateRow;

/// Keys led in this process and the jobs waiting on each.
pub struct LocalKeys {
    keys: Mutex<HashMap<String, Waiting>>,
    cap: usize,
}

/// The jobs waiting on one key, by sequence.
type Waiting = BTreeMap<u64, Waiter>;

/// A job waiting on its key in this process.
pub struct Waiter {
    /// Its row, for a holder that writes the rows of a run (handlers that only store).
    pub row: Option<Arc<UpdateRow>>,
    tx: oneshot::Sender<Handoff>,
}

/// What a waiter is told.
pub enum Handoff {
    /// Its turn: it holds its key since `since_ms` and leads it here.
    Go { since_ms: i64, lead: Lead },
    /// The holder ran it as part of its run (its row was written with the holder's): its
    /// outcome, or why settling the run failed.
    Ran(Result<&'static str, String>),
    /// The holder gave the key up here without handing it on, and this was the lowest waiter:
    /// it leads the key here now and asks Redis for its turn.
    Lead(Lead),
}

/// What a job does on arrival.
pub enum Entry {
    /// No job of its key is led here: it asks Redis for its turn and leads the key here.
    Lead(Lead),
    /// Another job of its key leads it here: it waits to be handed the key or the lead. A
    /// closed channel means the lead is gone: ask Redis.
    Wait(oneshot::Receiver<Handoff>),
    /// Waiting here is full (or off, or a copy of it already waits): ask Redis.
    Alone,
}

impl LocalKeys {
    /// At most `cap` waiting jobs per key (0: no waiting here).
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(LocalKeys {
            keys: Mutex::default(),
            cap,
        })
    }

    /// The job `tag` arrives; `row` is kept for a run's holder (see [`Waiter::row`]).
    pub fn enter(self: &Arc<Self>, tag: &OrderTag, row: Option<Arc<UpdateRow>>) -> Entry {
        if self.cap == 0 {
            return Entry::Alone;
        }
        let mut keys = self.lock();
        match keys.get_mut(&tag.key) {
            None => {
                keys.insert(tag.key.clone(), Waiting::new());
                Entry::Lead(Lead {
                    keys: self.clone(),
                    key: tag.key.clone(),
                })
            }
            Some(waiting) if waiting.len() >= self.cap => Entry::Alone,
            Some(waiting) => match waiting.entry(tag.seq) {
                btree_map::Entry::Occupied(_) => Entry::Alone,
                btree_map::Entry::Vacant(slot) => {
                    let (tx, rx) = oneshot::channel();
                    slot.insert(Waiter { row, tx });
                    Entry::Wait(rx)
                }
            },
        }
    }

    /// Jobs waiting in this process, all keys.
    pub fn waiting(&self) -> usize {
        self.lock().values().map(BTreeMap::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Waiting>> {
        // A panic while holding this lock leaves nothing half-changed (single map operations).
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// This process leads its key: jobs of the key that arrive wait for it. Dropping it passes the
/// lead to the lowest waiter (which asks Redis for its turn), or ends it when none waits.
pub struct Lead {
    keys: Arc<LocalKeys>,
    key: String,
}

impl Lead {
    /// Takes the waiter of sequence `seq`, if one waits.
    pub fn take(&self, seq: u64) -> Option<Waiter> {
        self.keys.lock().get_mut(&self.key)?.remove(&seq)
    }

    /// Takes the waiters of `after + 1`, `after + 2`, … as long as they follow each other and
    /// carry a row, at most `most` of them.
    pub fn take_run(&self, after: u64, most: usize) -> Vec<(u64, Waiter)> {
        let mut keys = self.keys.lock();
        let Some(waiting) = keys.get_mut(&self.key) else {
            return Vec::new();
        };
        let mut run = Vec::new();
        let mut next = after + 1;
        while run.len() < most && waiting.get(&next).is_some_and(|w| w.row.is_some()) {
            let waiter = waiting.remove(&next).expect("checked above");
            run.push((next, waiter));
            next += 1;
        }
        run
    }

    /// Puts back waiters taken for a run that could not be written together.
    pub fn put_back(&self, run: Vec<(u64, Waiter)>) {
        let mut keys = self.keys.lock();
        let Some(waiting) = keys.get_mut(&self.key) else {
            // Cannot happen while this lead lives; their channels close and they ask Redis.
            return;
        };
        waiting.extend(run);
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        let next = {
            let mut keys = self.keys.lock();
            let Some(waiting) = keys.get_mut(&self.key) else {
                return;
            };
            let next = waiting.pop_first();
            if next.is_none() {
                keys.remove(&self.key);
            }
            next
        };
        // Outside the lock: a waiter that is gone drops this new lead at once, which passes it
        // on to the next one (at most `cap` deep).
        if let Some((_, waiter)) = next {
            let lead = Lead {
                keys: self.keys.clone(),
                key: std::mem::take(&mut self.key),
            };
            let _ = waiter.tx.send(Handoff::Lead(lead));
        }
    }
}

impl Waiter {
    /// Hands it the key and the lead; a waiter that is gone (its task was dropped) drops the
    /// lead with it, and the key is given up here.
    pub fn go(self, since_ms: i64, lead: Lead) {
        let _ = self.tx.send(Handoff::Go { since_ms, lead });
    }

    /// Tells it how the run it was part of ended.
    pub fn ran(self, outcome: Result<&'static str, String>) {
        let _ = self.tx.send(Handoff::Ran(outcome));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(seq: u64) -> OrderTag {
        OrderTag {
            key: "c:1".into(),
            seq,
        }
    }

    fn lead(keys: &Arc<LocalKeys>, seq: u64) -> Lead {
        match keys.enter(&tag(seq), None) {
            Entry::Lead(lead) => lead,
            _ => panic!("{seq} should lead"),
        }
    }

    fn wait(keys: &Arc<LocalKeys>, seq: u64) -> oneshot::Receiver<Handoff> {
        match keys.enter(&tag(seq), None) {
            Entry::Wait(rx) => rx,
            _ => panic!("{seq} should wait"),
        }
    }

    #[test]
    fn the_first_job_of_a_key_leads_and_the_next_ones_wait() {
        let keys = LocalKeys::new(2);
        let first = lead(&keys, 1);
        let two = wait(&keys, 2);
        assert!(matches!(keys.enter(&tag(2), None), Entry::Alone), "a copy");
        let three = wait(&keys, 3);
        assert!(matches!(keys.enter(&tag(4), None), Entry::Alone), "full");
        assert_eq!(keys.waiting(), 2);
        drop(first);
        assert_eq!(keys.waiting(), 1, "2 leads now");
        drop((two, three));
        assert_eq!(keys.waiting(), 0);
        let _four = lead(&keys, 4);
    }

    #[tokio::test]
    async fn dropping_the_lead_passes_it_to_the_lowest_waiter() {
        let keys = LocalKeys::new(4);
        let first = lead(&keys, 1);
        let mut four = wait(&keys, 4);
        let three = wait(&keys, 3);
        drop(first);
        let Ok(Handoff::Lead(lead)) = three.await else {
            panic!("3 leads now and asks Redis")
        };
        assert!(four.try_recv().is_err(), "4 still waits");
        assert!(
            matches!(keys.enter(&tag(5), None), Entry::Wait(_)),
            "the key is still led here"
        );
        drop(lead);
        assert!(matches!(four.await, Ok(Handoff::Lead(_))));
    }

    #[tokio::test]
    async fn a_lead_passes_over_waiters_that_are_gone() {
        let keys = LocalKeys::new(4);
        let first = lead(&keys, 1);
        drop(wait(&keys, 2));
        let three = wait(&keys, 3);
        drop(first);
        let Ok(Handoff::Lead(lead)) = three.await else {
            panic!("3 leads: 2's task is gone")
        };
        drop(lead);
        assert_eq!(keys.waiting(), 0);
        let _six = self::lead(&keys, 6);
    }

    #[tokio::test]
    async fn a_handed_lead_keeps_the_key_led() {
        let keys = LocalKeys::new(4);
        let first = lead(&keys, 1);
        let two = wait(&keys, 2);
        let three = wait(&keys, 3);
        let waiter = first.take(2).expect("2 waits");
        waiter.go(5, first);
        let Ok(Handoff::Go { since_ms, lead }) = two.await else {
            panic!("2 was handed the key")
        };
        assert_eq!(since_ms, 5);
        assert_eq!(keys.waiting(), 1, "3 still waits");
        drop(lead);
        assert!(matches!(three.await, Ok(Handoff::Lead(_))));
    }

    #[test]
    fn a_run_takes_consecutive_waiters_with_rows_only() {
        let keys = LocalKeys::new(8);
        let first = lead(&keys, 1);
        let row = || {
            Some(Arc::new(UpdateRow {
                bot: "b".into(),
                update_id: 1,
                kind: "message".into(),
                chat: None,
                user: None,
                lane: sluice_shared::lanes::Lane::Normal,
                received_at_ms: 0,
                payload: serde_json::value::RawValue::from_string("{}".into()).unwrap(),
                job_id: "j".into(),
            }))
        };
        let _w: Vec<_> = [2, 3, 5]
            .iter()
            .map(|&s| keys.enter(&tag(s), row()))
            .collect();
        let run = first.take_run(1, usize::MAX);
        assert_eq!(run.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(keys.waiting(), 1);
        first.put_back(run);
        assert_eq!(keys.waiting(), 3);
        let one = first.take_run(1, 1);
        assert_eq!(
            one.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![2],
            "at most one"
        );
        first.put_back(one);
    }
}
