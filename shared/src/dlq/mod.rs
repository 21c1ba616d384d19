//! The dead letters: jobs that failed for good, kept in Redis until replayed or purged, and the
//! queries the worker's `dlq` commands and the operator console share.
//!
//! # Layout
//! Per lane, under `{prefix}:{lane}:dlq`:
//! - `…:dlq`, a sorted set of ids by death time (ms), and `…:dlq:entries`, a hash of id →
//!   [`DeadLetter`] JSON: the format every release has written, read as it is.
//! - `…:dlq:meta`, a hash of id → `<origin tag>\n<reason, lower-cased>`, and `…:dlq:by:<origin tag>`
//!   (`bot:<name>`, `source:<name>`), a sorted set per sender by death time: "bot X since noon"
//!   is a range of a small set. [`put`](DeadLetters::put) and every removal keep them in step in
//!   one script; letters stored before they existed are indexed by
//!   [`index_unindexed`](DeadLetters::index_unindexed).
//!
//! - [`filter`]: the filter, the page cursor and the target of a replay or purge.
//! - `scan`: listing and counting, in one Lua script (`scan.lua`) that merges the sets newest
//!   first and examines a bounded number of letters per call.
//! - `act`: replay and purge, in bounded batches.

mod act;
pub mod filter;
mod scan;

use std::sync::LazyLock;

use redis::{Script, aio::ConnectionManager};
use serde::{Deserialize, Serialize};

pub use act::{Done, Requeue};
pub use filter::{Cursor, DeadLetterFilter, OriginFilter, PinnedFilter, Target};
pub use scan::{Count, Page, SCAN_BUDGET};

use crate::{
    job::{Job, Origin},
    lanes::{Lane, PerLane},
    queue::PushError,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The id of the job that failed last (a ULID).
    pub id: String,
    /// Why it failed the last time (the worker's error).
    pub reason: String,
    pub dead_at_ms: i64,
    /// The job as it ran last: its payload, origin, and `attempt` (failed attempts before it).
    pub envelope: Job,
}

impl DeadLetter {
    pub fn lane(&self) -> Lane {
        self.envelope.lane
    }

    /// `bot:<name>` or `source:<name>`: the name of its origin index.
    pub fn origin_tag(&self) -> String {
        match &self.envelope.origin {
            Origin::Telegram { bot, .. } => format!("bot:{bot}"),
            Origin::Signed { source, .. } => format!("source:{source}"),
        }
    }

    /// What the filters read: the origin tag and the reason, lower-cased here (ASCII) so that
    /// the scan compares without making a lower-case copy of every reason it passes.
    fn meta(&self) -> String {
        format!(
            "{}\n{}",
            self.origin_tag(),
            self.reason.to_ascii_lowercase()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("encoding a dead letter: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("re-queueing a dead letter: {0}")]
    Requeue(#[from] PushError),
    #[error("not a dead-letter cursor (start again from the first page)")]
    BadCursor,
}

static PUT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("put.lua")));
static REMOVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("remove.lua")));
static INDEX: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("index.lua")));

/// The dead letters under one prefix; cheap to clone.
#[derive(Clone)]
pub struct DeadLetters {
    conn: ConnectionManager,
    prefix: String,
    /// Letters a page filtered by reason may examine ([`scan::SCAN_BUDGET`] unless set).
    scan_budget: u64,
}

impl DeadLetters {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        DeadLetters {
            conn,
            prefix: prefix.to_owned(),
            scan_budget: scan::SCAN_BUDGET,
        }
    }

    /// The same, examining at most `budget` letters per page filtered by reason (at least 1).
    pub fn with_scan_budget(mut self, budget: u64) -> Self {
        self.scan_budget = budget.max(1);
        self
    }

    fn index(&self, lane: Lane) -> String {
        format!("{}:{lane}:dlq", self.prefix)
    }

    fn entries(&self, lane: Lane) -> String {
        format!("{}:{lane}:dlq:entries", self.prefix)
    }

    fn meta(&self, lane: Lane) -> String {
        format!("{}:{lane}:dlq:meta", self.prefix)
    }

    /// The prefix of `lane`'s origin indexes; an index is this plus an origin tag.
    fn by_origin(&self, lane: Lane) -> String {
        format!("{}:{lane}:dlq:by:", self.prefix)
    }

    /// Stores a dead letter with its meta and origin index entry, in one script.
    pub async fn put(&self, letter: &DeadLetter) -> Result<(), DlqError> {
        let lane = letter.lane();
        let json = serde_json::to_string(letter)?;
        let mut conn = self.conn.clone();
        let _: i64 = PUT
            .key(self.entries(lane))
            .key(self.index(lane))
            .key(self.meta(lane))
            .key(format!("{}{}", self.by_origin(lane), letter.origin_tag()))
            .arg(&letter.id)
            .arg(json)
            .arg(letter.dead_at_ms)
            .arg(letter.meta())
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    /// Entries per lane.
    pub async fn sizes(&self) -> Result<PerLane<u64>, DlqError> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for lane in Lane::ALL {
            pipe.zcard(self.index(lane));
        }
        let (h, n, l): (u64, u64, u64) = pipe.query_async(&mut conn).await?;
        Ok(PerLane::from([h, n, l]))
    }

    /// One dead letter by id, in `lane` or in whichever lane holds it.
    pub async fn get(&self, lane: Option<Lane>, id: &str) -> Result<Option<DeadLetter>, DlqError> {
        let lanes = lane.map_or(Lane::ALL.to_vec(), |l| vec![l]);
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for &lane in &lanes {
            pipe.hget(self.entries(lane), id);
        }
        let raw: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        Ok(raw.into_iter().flatten().find_map(|j| decode(&j)))
    }

    /// Dead letters by id in any lane (ids not found are left out).
    pub async fn get_many(&self, ids: &[String]) -> Result<Vec<DeadLetter>, DlqError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for lane in Lane::ALL {
            pipe.cmd("HMGET").arg(self.entries(lane)).arg(ids);
        }
        let raw: Vec<Vec<Option<String>>> = pipe.query_async(&mut conn).await?;
        Ok(raw
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|j| decode(&j))
            .collect())
    }

    /// Removes one dead letter (after it was replayed).
    pub async fn remove(&self, letter: &DeadLetter) -> Result<u64, DlqError> {
        self.remove_ids(letter.lane(), std::slice::from_ref(&letter.id))
            .await
    }

    /// Removes `ids` from `lane` with their meta and index entries; answers how many were there.
    pub async fn remove_ids(&self, lane: Lane, ids: &[String]) -> Result<u64, DlqError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        let mut call = REMOVE.key(self.entries(lane));
        call.key(self.index(lane))
            .key(self.meta(lane))
            .arg(self.by_origin(lane))
            .arg(ids);
        Ok(call.invoke_async(&mut conn).await?)
    }

    /// Removes `lane`'s dead letters whose job `matches` (a data-protection erase), walking the
    /// entries with `HSCAN` `batch` at a time; returns how many. An entry that cannot be decoded
    /// is kept (nothing says whose it is).
    pub async fn remove_where(
        &self,
        lane: Lane,
        batch: usize,
        matches: impl Fn(&Job) -> bool,
    ) -> Result<u64, DlqError> {
        let mut conn = self.conn.clone();
        let (mut cursor, mut removed) = (0u64, 0);
        loop {
            let (next, entries): (u64, Vec<(String, String)>) = redis::cmd("HSCAN")
                .arg(self.entries(lane))
                .arg(cursor)
                .arg("COUNT")
                .arg(batch)
                .query_async(&mut conn)
                .await?;
            let ids: Vec<String> = entries
                .into_iter()
                .filter(|(_, json)| decode(json).is_some_and(|l| matches(&l.envelope)))
                .map(|(id, _)| id)
                .collect();
            // Counted by ZREM: an id HSCAN returns twice is removed (and counted) once.
            removed += self.remove_ids(lane, &ids).await?;
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// Removes dead letters that died before `before_ms`; returns how many.
    pub async fn purge_before(&self, before_ms: i64) -> Result<u64, DlqError> {
        let filter = DeadLetterFilter::default().pinned(before_ms);
        Ok(self.purge(&Target::Filter(filter), 1000).await?.done)
    }

    /// Removes `lane`'s dead letters that died before `before_ms`, `batch` per round trip;
    /// returns how many.
    pub async fn purge_lane_before(
        &self,
        lane: Lane,
        before_ms: i64,
        batch: usize,
    ) -> Result<u64, DlqError> {
        let filter = DeadLetterFilter {
            lane: Some(lane),
            ..Default::default()
        };
        let target = Target::Filter(filter.pinned(before_ms));
        Ok(self.purge(&target, batch).await?.done)
    }

    /// Gives letters stored before the origin index existed (by an earlier release, or by one
    /// still running during a rolling deploy) their meta and index entry, `batch` ids per round
    /// trip; answers how many. Cheap when there are none: it reads the ids and the meta only.
    pub async fn index_unindexed(&self, batch: usize) -> Result<u64, DlqError> {
        let mut conn = self.conn.clone();
        let mut indexed = 0;
        for lane in Lane::ALL {
            let mut cursor = 0u64;
            loop {
                let (next, flat): (u64, Vec<String>) = redis::cmd("ZSCAN")
                    .arg(self.index(lane))
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(batch)
                    .query_async(&mut conn)
                    .await?;
                let ids: Vec<String> = flat.into_iter().step_by(2).collect();
                indexed += self.index_ids(lane, &ids).await?;
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(indexed)
    }

    async fn index_ids(&self, lane: Lane, ids: &[String]) -> Result<u64, DlqError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        let metas: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.meta(lane))
            .arg(ids)
            .query_async(&mut conn)
            .await?;
        let missing: Vec<&String> = ids
            .iter()
            .zip(&metas)
            .filter(|(_, m)| m.is_none())
            .map(|(id, _)| id)
            .collect();
        if missing.is_empty() {
            return Ok(0);
        }
        let raw: Vec<Option<String>> = redis::cmd("HMGET")
            .arg(self.entries(lane))
            .arg(&missing)
            .query_async(&mut conn)
            .await?;
        let mut call = INDEX.key(self.index(lane));
        call.key(self.meta(lane)).arg(self.by_origin(lane));
        let mut any = false;
        for letter in raw.iter().flatten().filter_map(|j| decode(j)) {
            call.arg(&letter.id).arg(letter.meta());
            any = true;
        }
        if !any {
            return Ok(0);
        }
        Ok(call.invoke_async(&mut conn).await?)
    }
}

/// A stored letter, or `None` for one no release could have written (left in place, skipped).
fn decode(json: &str) -> Option<DeadLetter> {
    serde_json::from_str(json).ok()
}

#[cfg(test)]
mod tests;
