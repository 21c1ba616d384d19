//! Replay and purge: by ids, or every letter a pinned filter matches, in bounded batches (one
//! page read, then one removal script per batch), answering counts.

use std::time::Duration;

use redis::aio::ConnectionManager;

use super::{DeadLetter, DeadLetters, DlqError, Target, scan::Mode};
use crate::{
    job::order::{Ordering, key_of},
    lanes::Lane,
    queue::{PushOptions, Pusher, QueueConfig, order::Order},
};

/// What a replay or purge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Done {
    /// Letters replayed or purged.
    pub done: u64,
    /// Ids asked for that were not dead letters (already replayed or purged, or never were).
    pub not_found: u64,
}

/// Where a replayed letter goes: its lane's queue, after its ordering key's current work.
#[derive(Clone)]
pub struct Requeue {
    queue: Pusher,
    ordering: Ordering,
}

impl Requeue {
    /// `ordering` is the deployment's `SLUICE_ORDERING`: a letter takes its key's next place.
    pub fn new(conn: ConnectionManager, prefix: &str, ordering: Ordering) -> Requeue {
        // A re-queued job claims no dedup key (`Pusher::requeue`), so the window is never used.
        let unused = QueueConfig {
            dedup_ttl: Duration::from_secs(25 * 3600),
        };
        let opts = PushOptions {
            lane_keys: false,
            min_replicas: 0,
        };
        Requeue {
            queue: Pusher::new(conn, prefix, &unused, opts),
            ordering,
        }
    }

    async fn push(&self, letter: &DeadLetter) -> Result<(), DlqError> {
        let job = letter.envelope.with_attempt(0);
        // After its key's current work (the key's next place), never before it.
        let key = key_of(self.ordering, &job);
        let place = key.as_deref().map(Order::Assign);
        self.queue
            .requeue_ordered(job.lane, &job, Duration::ZERO, place)
            .await?;
        Ok(())
    }
}

impl DeadLetters {
    /// How many letters `target` names now: the dry run a confirmation shows. A filter with a
    /// reason is counted by examining at most `budget` letters (see [`super::Count`]).
    pub async fn count_target(
        &self,
        target: &Target,
        budget: u64,
    ) -> Result<super::Count, DlqError> {
        match target {
            Target::Filter(f) => self.count(f.filter(), budget).await,
            Target::Ids(ids) => Ok(super::Count {
                matching: self.get_many(ids).await?.len() as u64,
                exact: true,
                scanned: ids.len() as u64,
            }),
        }
    }

    /// Puts the target's letters back in their lanes' queues (attempt 0, after their key's
    /// current work), `batch` at a time, removing each once it is queued.
    pub async fn replay(
        &self,
        target: &Target,
        to: &Requeue,
        batch: usize,
    ) -> Result<Done, DlqError> {
        let mut done = Done::default();
        match target {
            Target::Ids(ids) => {
                for chunk in ids.chunks(batch.max(1)) {
                    let letters = self.get_many(chunk).await?;
                    done.not_found += (chunk.len() - letters.len()) as u64;
                    for letter in &letters {
                        to.push(letter).await?;
                        done.done += self.remove(letter).await?;
                    }
                }
            }
            Target::Filter(f) => {
                let mut cursor = None;
                loop {
                    let page = self.list(f.filter(), cursor.as_ref(), batch.max(1)).await?;
                    for letter in &page.letters {
                        to.push(letter).await?;
                        done.done += self.remove(letter).await?;
                    }
                    match page.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        Ok(done)
    }

    /// Removes the target's letters, `batch` per round trip.
    pub async fn purge(&self, target: &Target, batch: usize) -> Result<Done, DlqError> {
        let mut done = Done::default();
        match target {
            Target::Ids(ids) => {
                for chunk in ids.chunks(batch.max(1)) {
                    let mut removed = 0;
                    for lane in Lane::ALL {
                        removed += self.remove_ids(lane, chunk).await?;
                    }
                    done.done += removed;
                    done.not_found += chunk.len() as u64 - removed.min(chunk.len() as u64);
                }
            }
            Target::Filter(f) => {
                let mut cursor = None;
                loop {
                    let s = self
                        .scan(
                            f.filter(),
                            cursor.as_ref(),
                            batch.max(1) as u64,
                            self.scan_budget,
                            Mode::Ids,
                        )
                        .await?;
                    for lane in Lane::ALL {
                        let ids: Vec<String> = s
                            .items
                            .iter()
                            .filter(|(l, _, _)| *l == lane)
                            .map(|(_, id, _)| id.clone())
                            .collect();
                        done.done += self.remove_ids(lane, &ids).await?;
                    }
                    match s.next {
                        Some(next) => cursor = Some(next),
                        None => break,
                    }
                }
            }
        }
        Ok(done)
    }
}
