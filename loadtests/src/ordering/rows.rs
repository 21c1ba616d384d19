//! The check's samples: a run's ledger (when each update was sent and acknowledged) joined with
//! the rows the workers wrote (when each was handled). Read after delivery verification waited
//! for the queue to drain.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::PgPool;

use super::{Ordering, OrderingReport, Sample, check};
use crate::summary::LedgerEntry;

/// Bots per `bot = ANY($1)` query, as in delivery verification.
const BOT_CHUNK: usize = 100;

/// When each acknowledged (bot, update_id) was first sent and when it was acknowledged (its
/// first 2xx answer). "Sent" is the first attempt of any outcome: an attempt answered 503 or
/// left unanswered may still have been queued (the enqueue finished after the time budget), so
/// the update may be in the queue from that moment on, and only an update acknowledged before
/// then is known to precede it. Taking the 2xx attempt's send time instead reported retried
/// updates as out of order under overload.
pub fn acknowledged(ledger: &[LedgerEntry]) -> HashMap<(&str, i64), (i64, i64)> {
    let mut acked: HashMap<(&str, i64), (i64, i64)> = HashMap::new();
    for e in ledger.iter().filter(|e| (200..300).contains(&e.status)) {
        let times = match (e.sent_us, e.answered_us) {
            (Some(s), Some(a)) => (s as i64, a as i64),
            _ => Sample::by_update_id(e.update_id),
        };
        acked
            .entry((e.bot.as_str(), e.update_id))
            .and_modify(|t| {
                if times.1 < t.1 {
                    *t = times;
                }
            })
            .or_insert(times);
    }
    for e in ledger {
        let (Some(sent), Some(t)) = (e.sent_us, acked.get_mut(&(e.bot.as_str(), e.update_id)))
        else {
            continue;
        };
        t.0 = t.0.min(sent as i64);
    }
    acked
}

/// Checks the order the run's acknowledged updates were handled in, under `mode` (which must
/// not be `off`). `bots` are the run's bots (their rows are the run's).
pub async fn verify(
    pool: &PgPool,
    ledger: &[LedgerEntry],
    bots: &[String],
    mode: Ordering,
) -> Result<OrderingReport, sqlx::Error> {
    let acked = acknowledged(ledger);
    let mut samples = Vec::with_capacity(acked.len());
    for chunk in bots.chunks(BOT_CHUNK) {
        let mut tx = pool.begin().await?;
        let mut rows = sqlx::query_as::<_, Row>(
            "SELECT bot, update_id, kind, chat_id, user_id, coalesce(handled_at, processed_at)
               FROM updates WHERE bot = ANY($1)",
        )
        .persistent(false)
        .bind(chunk)
        .fetch(&mut *tx);
        while let Some((bot, update_id, kind, chat, user, handled)) = rows.try_next().await? {
            let Some(&(sent, acked)) = acked.get(&(bot.as_str(), update_id)) else {
                continue; // not acknowledged: delivery verification judges it
            };
            let Some(key) = mode.key(&kind, chat, user) else {
                continue;
            };
            samples.push(Sample {
                bot,
                key,
                update_id,
                sent,
                acked,
                handled_us: handled.timestamp_micros(),
            });
        }
        drop(rows);
        tx.commit().await?;
    }
    let mut report = check(mode.name(), &samples);
    report.skipped = acked.len() as u64 - samples.len() as u64;
    Ok(report)
}

type Row = (String, i64, String, Option<i64>, Option<i64>, DateTime<Utc>);
