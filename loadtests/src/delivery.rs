//! Delivery verification: after a run, every update answered 2xx is in `updates` exactly once,
//! and refused ones are not.
//!
//! The ledger (one line per request) says how each (bot, update_id) was answered; Postgres says
//! which keys have rows. Keys are looked up in chunks (`UNNEST` of the ledger keys while waiting
//! for the queue to drain, `bot = ANY($1)` for the final count), so a 100k-line ledger costs a
//! few round trips, not one per update.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use serde::Serialize;
use sqlx::PgPool;

use crate::summary::LedgerEntry;

/// Keys per `UNNEST` query while waiting for the drain.
const CHUNK: usize = 10_000;
/// Bots per `bot = ANY($1)` query.
const BOT_CHUNK: usize = 100;
const POLL: Duration = Duration::from_millis(500);

/// What the ledger says about one key: any of these answers may have been seen.
const ACKED: u8 = 1;
/// Answered 4xx (429 above all): the api refused and did not enqueue.
const REFUSED: u8 = 2;
/// 5xx, a timeout or a transport error: a 503 after a timed-out enqueue means "maybe queued".
const UNCERTAIN: u8 = 4;

/// The counts the gate prints and checks (lost, duplicate_rows, refused_present and unexpected
/// must be 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DeliveryReport {
    pub ledger_lines: u64,
    /// Distinct (bot, update_id) in the ledger.
    pub keys: u64,
    /// Keys with at least one 2xx answer.
    pub acked: u64,
    /// Acknowledged keys that have a row.
    pub present: u64,
    /// Acknowledged keys without a row when the wait ended.
    pub lost: u64,
    /// Rows beyond the first for any key of the run's bots.
    pub duplicate_rows: u64,
    /// Keys never answered 2xx whose answers were all 4xx.
    pub refused: u64,
    /// Refused keys that nevertheless have a row.
    pub refused_present: u64,
    /// Keys never answered 2xx with a 5xx, timeout or transport error among their answers.
    pub uncertain: u64,
    /// Uncertain keys that have a row (allowed: the enqueue may have finished after the answer).
    pub maybe_queued: u64,
    /// Rows of the run's bots whose key is not in the ledger.
    pub unexpected: u64,
    /// Seconds spent waiting for acknowledged keys to appear.
    pub waited_s: f64,
}

impl DeliveryReport {
    /// The counts that must be zero, with their names in the gate's output.
    pub fn must_be_zero(&self) -> [(&'static str, u64); 4] {
        [
            ("lost", self.lost),
            ("duplicate_rows", self.duplicate_rows),
            ("refused_present", self.refused_present),
            ("unexpected", self.unexpected),
        ]
    }
}

/// The ledger folded per key, bots interned (a run has tens of bots and 100k+ keys).
struct Keys {
    bots: Vec<String>,
    flags: HashMap<(u32, i64), u8>,
}

impl Keys {
    fn fold<'a>(ledger: &'a [LedgerEntry], extra_bots: &'a [String]) -> Keys {
        let mut index: HashMap<&'a str, u32> = HashMap::new();
        let mut bots = Vec::new();
        let mut intern = |bot: &'a str| -> u32 {
            *index.entry(bot).or_insert_with(|| {
                bots.push(bot.to_owned());
                (bots.len() - 1) as u32
            })
        };
        let mut flags: HashMap<(u32, i64), u8> = HashMap::with_capacity(ledger.len());
        for e in ledger {
            let flag = match e.status {
                200..=299 => ACKED,
                400..=499 => REFUSED,
                _ => UNCERTAIN,
            };
            *flags.entry((intern(&e.bot), e.update_id)).or_default() |= flag;
        }
        for bot in extra_bots {
            intern(bot);
        }
        Keys { bots, flags }
    }
}

/// Waits up to `drain_timeout` for every acknowledged key to have a row, then counts. `bots`
/// adds bots the run posted to beyond those in the ledger (rows for them are checked too).
pub async fn verify(
    pool: &PgPool,
    ledger: &[LedgerEntry],
    bots: &[String],
    drain_timeout: Duration,
) -> Result<DeliveryReport, sqlx::Error> {
    let keys = Keys::fold(ledger, bots);
    let started = Instant::now();
    let mut missing: Vec<(u32, i64)> = keys
        .flags
        .iter()
        .filter(|(_, f)| **f & ACKED != 0)
        .map(|(k, _)| *k)
        .collect();
    let mut last_note = Instant::now();
    loop {
        missing = still_missing(pool, &keys.bots, missing).await?;
        if missing.is_empty() || started.elapsed() >= drain_timeout {
            break;
        }
        if last_note.elapsed() >= Duration::from_secs(5) {
            eprintln!(
                "delivery: waiting for {} acknowledged updates to reach Postgres ({:.0} s of {:.0} s)",
                missing.len(),
                started.elapsed().as_secs_f64(),
                drain_timeout.as_secs_f64()
            );
            last_note = Instant::now();
        }
        tokio::time::sleep(POLL.min(drain_timeout.saturating_sub(started.elapsed()))).await;
    }
    let waited_s = started.elapsed().as_secs_f64();
    let mut report = count(pool, &keys).await?;
    report.ledger_lines = ledger.len() as u64;
    report.waited_s = waited_s;
    Ok(report)
}

/// The keys of `keys` that have no row yet.
async fn still_missing(
    pool: &PgPool,
    bots: &[String],
    keys: Vec<(u32, i64)>,
) -> Result<Vec<(u32, i64)>, sqlx::Error> {
    let mut missing = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let names: Vec<&str> = chunk
            .iter()
            .map(|(b, _)| bots[*b as usize].as_str())
            .collect();
        let ids: Vec<i64> = chunk.iter().map(|(_, u)| *u).collect();
        let mut tx = pool.begin().await?;
        let found: Vec<i32> = sqlx::query_scalar(
            "SELECT t.i::int4 FROM UNNEST($1::text[], $2::int8[]) WITH ORDINALITY AS t(b, u, i)
              WHERE NOT EXISTS (SELECT 1 FROM updates x WHERE x.bot = t.b AND x.update_id = t.u)",
        )
        .persistent(false)
        .bind(&names)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        // ORDINALITY counts from 1.
        missing.extend(found.into_iter().map(|i| chunk[i as usize - 1]));
    }
    Ok(missing)
}

/// Every row of the run's bots, grouped per key, matched against the ledger.
async fn count(pool: &PgPool, keys: &Keys) -> Result<DeliveryReport, sqlx::Error> {
    let mut r = DeliveryReport {
        keys: keys.flags.len() as u64,
        ..Default::default()
    };
    for f in keys.flags.values() {
        if f & ACKED != 0 {
            r.acked += 1;
        } else if f & UNCERTAIN != 0 {
            r.uncertain += 1;
        } else {
            r.refused += 1;
        }
    }
    let index: HashMap<&str, u32> = keys
        .bots
        .iter()
        .enumerate()
        .map(|(i, b)| (b.as_str(), i as u32))
        .collect();
    for bots in keys.bots.chunks(BOT_CHUNK) {
        let mut tx = pool.begin().await?;
        // Grouped by hand rather than trusting the unique constraint: the check is that it held.
        let mut rows = sqlx::query_as::<_, (String, i64, i64)>(
            "SELECT bot, update_id, count(*) FROM updates WHERE bot = ANY($1)
              GROUP BY bot, update_id",
        )
        .persistent(false)
        .bind(bots)
        .fetch(&mut *tx);
        while let Some((bot, update_id, n)) = rows.try_next().await? {
            let n = n as u64;
            r.duplicate_rows += n.saturating_sub(1);
            let flags = index
                .get(bot.as_str())
                .and_then(|b| keys.flags.get(&(*b, update_id)));
            match flags {
                None => r.unexpected += n,
                Some(f) if f & ACKED != 0 => r.present += 1,
                Some(f) if f & UNCERTAIN != 0 => r.maybe_queued += 1,
                Some(_) => r.refused_present += 1,
            }
        }
        drop(rows);
        tx.commit().await?;
    }
    r.lost = r.acked - r.present;
    Ok(r)
}
