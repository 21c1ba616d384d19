//! The dead letters: updates that failed for good, kept in Redis until replayed or purged.
//!
//! Per lane, `{prefix}:{lane}:dlq` is a sorted set of entry ids by death time (ms) and
//! `{prefix}:{lane}:dlq:entries` a hash of id → [`DeadLetter`] JSON. Both are O(1)/O(log n) to
//! count, add and remove, so the size gauge and the CLI stay cheap with millions of entries.

use redis::{AsyncCommands, aio::ConnectionManager};
use serde::{Deserialize, Serialize};
use sluice_shared::{
    job::Job,
    lanes::{Lane, PerLane},
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The id of the job that failed last (a ULID).
    pub id: String,
    pub reason: String,
    pub dead_at_ms: i64,
    pub envelope: Job,
}

#[derive(Clone)]
pub struct DeadLetters {
    conn: ConnectionManager,
    prefix: String,
}

impl DeadLetters {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        DeadLetters {
            conn,
            prefix: prefix.to_owned(),
        }
    }

    fn index(&self, lane: Lane) -> String {
        format!("{}:{lane}:dlq", self.prefix)
    }

    fn entries(&self, lane: Lane) -> String {
        format!("{}:{lane}:dlq:entries", self.prefix)
    }

    /// Stores a dead letter (both keys in one MULTI, so a listed id always has its entry).
    pub async fn put(&self, letter: &DeadLetter) -> redis::RedisResult<()> {
        let lane = letter.envelope.lane;
        let json = serde_json::to_string(letter)
            .map_err(|e| redis::RedisError::from(std::io::Error::other(e)))?;
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .hset(self.entries(lane), &letter.id, json)
            .zadd(self.index(lane), &letter.id, letter.dead_at_ms)
            .exec_async(&mut conn)
            .await
    }

    /// Entries per lane.
    pub async fn sizes(&self) -> redis::RedisResult<PerLane<u64>> {
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for lane in Lane::ALL {
            pipe.zcard(self.index(lane));
        }
        let (h, n, l): (u64, u64, u64) = pipe.query_async(&mut conn).await?;
        Ok(PerLane::from([h, n, l]))
    }

    /// The newest `limit` dead letters of `lane` (or of every lane), newest first.
    pub async fn list(
        &self,
        lane: Option<Lane>,
        limit: usize,
    ) -> redis::RedisResult<Vec<DeadLetter>> {
        let mut out = Vec::new();
        let mut conn = self.conn.clone();
        for lane in lane.map_or(Lane::ALL.to_vec(), |l| vec![l]) {
            let ids: Vec<String> = conn
                .zrevrange(self.index(lane), 0, limit as isize - 1)
                .await?;
            if ids.is_empty() {
                continue;
            }
            let raw: Vec<Option<String>> = conn.hmget(self.entries(lane), &ids).await?;
            out.extend(
                raw.into_iter()
                    .flatten()
                    .filter_map(|j| serde_json::from_str(&j).ok()),
            );
        }
        out.sort_by_key(|l: &DeadLetter| std::cmp::Reverse(l.dead_at_ms));
        out.truncate(limit);
        Ok(out)
    }

    /// Finds dead letters by id in any lane.
    pub async fn get(&self, ids: &[String]) -> redis::RedisResult<Vec<DeadLetter>> {
        let mut out = Vec::new();
        let mut conn = self.conn.clone();
        for lane in Lane::ALL {
            if ids.is_empty() {
                break;
            }
            let raw: Vec<Option<String>> = conn.hmget(self.entries(lane), ids).await?;
            out.extend(
                raw.into_iter()
                    .flatten()
                    .filter_map(|j| serde_json::from_str(&j).ok()),
            );
        }
        Ok(out)
    }

    /// Every dead letter, oldest first (for `replay --all`), `page` at a time.
    pub async fn all(&self, page: usize) -> redis::RedisResult<Vec<DeadLetter>> {
        let mut out = Vec::new();
        let mut conn = self.conn.clone();
        for lane in Lane::ALL {
            let ids: Vec<String> = conn.zrange(self.index(lane), 0, page as isize - 1).await?;
            if !ids.is_empty() {
                let raw: Vec<Option<String>> = conn.hmget(self.entries(lane), &ids).await?;
                out.extend(
                    raw.into_iter()
                        .flatten()
                        .filter_map(|j| serde_json::from_str(&j).ok()),
                );
            }
        }
        Ok(out)
    }

    /// Removes one dead letter (after it was replayed).
    pub async fn remove(&self, letter: &DeadLetter) -> redis::RedisResult<()> {
        let lane = letter.envelope.lane;
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .hdel(self.entries(lane), &letter.id)
            .zrem(self.index(lane), &letter.id)
            .exec_async(&mut conn)
            .await
    }

    /// Removes `lane`'s dead letters whose job `matches` (a data-protection erase), walking the
    /// entries with `HSCAN` `batch` at a time; returns how many. An entry that cannot be decoded
    /// is kept (nothing says whose it is).
    pub async fn remove_where(
        &self,
        lane: Lane,
        batch: usize,
        matches: impl Fn(&Job) -> bool,
    ) -> redis::RedisResult<u64> {
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
            let ids: Vec<&String> = entries
                .iter()
                .filter(|(_, json)| {
                    serde_json::from_str::<DeadLetter>(json).is_ok_and(|l| matches(&l.envelope))
                })
                .map(|(id, _)| id)
                .collect();
            if !ids.is_empty() {
                // Counted by HDEL: an id HSCAN returns twice is removed (and counted) once.
                let (gone, _): (u64, u64) = redis::pipe()
                    .atomic()
                    .hdel(self.entries(lane), &ids)
                    .zrem(self.index(lane), &ids)
                    .query_async(&mut conn)
                    .await?;
                removed += gone;
            }
            if next == 0 {
                return Ok(removed);
            }
            cursor = next;
        }
    }

    /// Removes dead letters that died before `before_ms`; returns how many.
    pub async fn purge_before(&self, before_ms: i64) -> redis::RedisResult<u64> {
        let mut removed = 0;
        for lane in Lane::ALL {
            removed += self.purge_lane_before(lane, before_ms, 1000).await?;
        }
        Ok(removed)
    }

    /// Removes `lane`'s dead letters that died before `before_ms`, `batch` per round trip (a
    /// bounded `ZRANGEBYSCORE`, then both keys in one MULTI); returns how many.
    pub async fn purge_lane_before(
        &self,
        lane: Lane,
        before_ms: i64,
        batch: usize,
    ) -> redis::RedisResult<u64> {
        let mut conn = self.conn.clone();
        let mut removed = 0;
        loop {
            let ids: Vec<String> = conn
                .zrangebyscore_limit(
                    self.index(lane),
                    "-inf",
                    format!("({before_ms}"),
                    0,
                    batch as isize,
                )
                .await?;
            if ids.is_empty() {
                return Ok(removed);
            }
            // Counted by ZREM: a letter replayed meanwhile is not counted twice.
            let (_, gone): (u64, u64) = redis::pipe()
                .atomic()
                .hdel(self.entries(lane), &ids)
                .zrem(self.index(lane), &ids)
                .query_async(&mut conn)
                .await?;
            removed += gone;
        }
    }
}

#[cfg(test)]
mod tests {
    use sluice_shared::job::Origin;

    use super::*;

    #[test]
    fn a_dead_letter_of_the_previous_format_still_decodes() {
        // Captured from the release before job format 2 (see the fixtures' README): replaying
        // it after a deploy must find the same job.
        let old = include_str!("../../shared/tests/fixtures/jobs/v1-dead-letter.json");
        let letter: DeadLetter = serde_json::from_str(old).unwrap();
        assert_eq!(letter.id, "01KB0000000000000000000000");
        assert_eq!(letter.dead_at_ms, 1_796_279_800_000);
        let job = &letter.envelope;
        assert!(matches!(
            &job.origin,
            Origin::Telegram { bot, update_id: 900001, chat: Some(-1001234567890), user: Some(7123456789) }
                if bot == "testbot"
        ));
        assert_eq!((job.lane, job.attempt), (Lane::Normal, 2));
        assert!(
            job.payload
                .get()
                .starts_with(r#"{"update_id": 900001, "message""#)
        );
        // Written back (a retry, a replay) in today's format, and read again.
        let again: DeadLetter =
            serde_json::from_str(&serde_json::to_string(&letter).unwrap()).unwrap();
        assert_eq!(again.envelope.origin, job.origin);
        assert_eq!(again.envelope.payload.get(), job.payload.get());
    }
}
