//! SQL of the worker, one function per statement, and what a failed statement means.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sluice_shared::{
    job::{Job, Origin},
    lanes::Lane,
};
use sqlx::{PgPool, types::Json};

mod error;

pub use error::{StoreError, is_data_error};

/// The `updates` row of a Telegram job, owned so that it can wait in a batch (see `rows`).
#[derive(Debug)]
pub struct UpdateRow {
    pub bot: String,
    pub update_id: i64,
    pub kind: String,
    pub chat: Option<i64>,
    pub user: Option<i64>,
    pub lane: Lane,
    pub received_at_ms: i64,
    pub payload: Box<RawValue>,
    pub job_id: String,
}

/// The `events` row of a signed event, borrowed from its job.
pub struct EventRow<'a> {
    pub source: &'a str,
    pub key: &'a str,
    pub rate_key: Option<&'a str>,
    pub job: &'a Job,
    pub job_id: &'a str,
}

/// A job's row: which table it goes to is decided by its origin, here only.
pub enum JobRow<'a> {
    Update(UpdateRow),
    Event(EventRow<'a>),
}

impl<'a> JobRow<'a> {
    pub fn of(job: &'a Job, job_id: &'a str) -> JobRow<'a> {
        match &job.origin {
            Origin::Telegram {
                bot,
                update_id,
                chat,
                user,
            } => JobRow::Update(UpdateRow {
                bot: bot.clone(),
                update_id: *update_id,
                kind: job.kind.clone(),
                chat: *chat,
                user: *user,
                lane: job.lane,
                received_at_ms: job.received_at_ms,
                payload: job.payload.clone(),
                job_id: job_id.to_owned(),
            }),
            Origin::Signed {
                source,
                key,
                rate_key,
            } => JobRow::Event(EventRow {
                source,
                key,
                rate_key: rate_key.as_deref(),
                job,
                job_id,
            }),
        }
    }
}

/// A job's Unix-millisecond time (`received_at_ms`) as a timestamp, as every row stores it.
pub fn time_of(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// What the insert found for a job's key: whether its handler must still run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A new row, or one whose handler never finished: run the handler.
    Unhandled,
    /// A handler already finished with this update (`handled_at` is set): never run it again.
    Handled,
}

/// Inserts the rows in one statement; a (bot, update_id) already there is left alone, so a job
/// that runs twice (orphan recovery, retry, replay) still makes one row. Returns the job ids
/// whose row was already there with `handled_at` set (usually none, so the answer is empty).
///
/// `updates` is partitioned by `received_at`, so no unique index can hold (bot, update_id)
/// alone: each key is claimed in `update_keys` (its primary key is the dedup key) and only the
/// rows whose key was new go into `updates`. Two jobs of one update racing from two workers
/// meet on that primary key: the second waits for the first's commit and inserts nothing.
///
/// `stores_only`: the handler has nothing to do beyond the row, so the row is written handled
/// and nobody asks whether it was handled before.
///
/// Rows are sorted by key so concurrent batches lock index entries in the same order and cannot
/// deadlock each other. The final SELECT reads the snapshot from before the INSERT, so it sees
/// exactly the rows that existed already.
pub async fn insert_updates(
    db: &PgPool,
    rows: &mut [&UpdateRow],
    stores_only: bool,
) -> Result<Vec<String>, sqlx::Error> {
    rows.sort_by(|a, b| (&a.bot, a.update_id).cmp(&(&b.bot, b.update_id)));
    let n = rows.len();
    let (mut bot, mut update_id, mut kind) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut chat, mut user, mut lane) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut payload, mut job, mut received) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    // Once per key: a batch may hold an update twice (two deliveries). Deduplicated here, on
    // rows already sorted, rather than by a DISTINCT ON that Postgres would sort again.
    let mut last: Option<(&str, i64)> = None;
    for r in rows.iter() {
        if last == Some((r.bot.as_str(), r.update_id)) {
            continue;
        }
        last = Some((r.bot.as_str(), r.update_id));
        bot.push(r.bot.as_str());
        update_id.push(r.update_id);
        kind.push(r.kind.as_str());
        chat.push(r.chat);
        user.push(r.user);
        lane.push(r.lane.as_str());
        payload.push(r.payload.get());
        job.push(r.job_id.as_str());
        received.push(time_of(r.received_at_ms));
    }
    let mut tx = sluice_shared::db::begin(db).await?;
    // Planned at every call (an unnamed statement), so it reads nothing from `updates`: a join
    // into the partitioned table cannot be pruned when planned and costs a plan per partition.
    let unclaimed: Vec<String> = sqlx::query_scalar(INSERT_UPDATES)
        .persistent(false)
        .bind(bot)
        .bind(update_id)
        .bind(kind)
        .bind(chat)
        .bind(user)
        .bind(lane)
        .bind(payload)
        .bind(job)
        .bind(received)
        .bind(stores_only)
        .fetch_all(&mut *tx)
        .await?;
    // Keys that were there already (a redelivery, a retry, a replay: rare): which of them a
    // handler finished with.
    let handled = if unclaimed.is_empty() {
        Vec::new()
    } else {
        let there = rows.iter().filter(|r| unclaimed.contains(&r.job_id));
        let (mut bot, mut update_id, mut job) = (Vec::new(), Vec::new(), Vec::new());
        for r in there {
            bot.push(r.bot.as_str());
            update_id.push(r.update_id);
            job.push(r.job_id.as_str());
        }
        sqlx::query_scalar(HANDLED_BEFORE)
            .persistent(false)
            .bind(bot)
            .bind(update_id)
            .bind(job)
            .fetch_all(&mut *tx)
            .await?
    };
    tx.commit().await?;
    Ok(handled)
}

/// Claims each row's key and inserts the rows whose key was new (the caller passes each key
/// once, sorted); answers the job ids whose key was there already, unless `$10`
/// (`stores_only`): then the rows are written handled and nobody asks.
const INSERT_UPDATES: &str = "WITH t AS (
   SELECT *
     FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::text[],
                 $7::text[], $8::text[], $9::timestamptz[]) AS t(b, u, k, c, us, l, p, j, r)
 ), claimed AS (
   INSERT INTO update_keys (bot, update_id, received_at)
   SELECT b, u, r FROM t
   ON CONFLICT (bot, update_id) DO NOTHING
   RETURNING bot, update_id
 ), ins AS (
   INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id,
                        received_at, handled_at)
   SELECT b, u, k, c, us, l, p::jsonb, j, r, CASE WHEN $10::bool THEN now() END
     FROM t JOIN claimed ON claimed.bot = t.b AND claimed.update_id = t.u
   ON CONFLICT DO NOTHING
 )
 SELECT t.j FROM t
  WHERE NOT $10::bool
    AND NOT EXISTS (SELECT 1 FROM claimed WHERE claimed.bot = t.b AND claimed.update_id = t.u)";

/// Of these keys (bot, update_id, job id), the job ids whose row a handler finished with, found
/// through their key's `received_at` (one partition each).
const HANDLED_BEFORE: &str = "SELECT t.j
   FROM UNNEST($1::text[], $2::int8[], $3::text[]) AS t(b, u, j)
   JOIN update_keys k ON k.bot = t.b AND k.update_id = t.u
   JOIN updates x ON x.bot = k.bot AND x.update_id = k.update_id AND x.received_at = k.received_at
  WHERE x.handled_at IS NOT NULL";

/// Inserts a signed event's row; an event already there for (source, idempotency key) is left
/// alone. `stores_only` as in [`insert_updates`].
pub async fn insert_event(
    db: &PgPool,
    row: &EventRow<'_>,
    stores_only: bool,
) -> Result<Seen, sqlx::Error> {
    let job = row.job;
    let received_at = time_of(job.received_at_ms);
    let mut tx = sluice_shared::db::begin(db).await?;
    let handled: bool = sqlx::query_scalar(
        "WITH claimed AS (
           INSERT INTO event_keys (source, idempotency_key, received_at) VALUES ($1, $2, $8)
           ON CONFLICT (source, idempotency_key) DO NOTHING
           RETURNING 1
         ), ins AS (
           INSERT INTO events (source, idempotency_key, kind, rate_key, lane, payload, job_id,
                               received_at, handled_at)
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9::bool THEN now() END
            WHERE EXISTS (SELECT 1 FROM claimed)
           ON CONFLICT DO NOTHING
         )
         SELECT NOT $9::bool AND EXISTS (
           SELECT 1 FROM event_keys k JOIN events e ON e.source = k.source
              AND e.idempotency_key = k.idempotency_key AND e.received_at = k.received_at
            WHERE k.source = $1 AND k.idempotency_key = $2 AND e.handled_at IS NOT NULL)",
    )
    .persistent(false)
    .bind(row.source)
    .bind(row.key)
    .bind(&job.kind)
    .bind(row.rate_key)
    .bind(job.lane.as_str())
    .bind(Json(&job.payload))
    .bind(row.job_id)
    .bind(received_at)
    .bind(stores_only)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(if handled {
        Seen::Handled
    } else {
        Seen::Unhandled
    })
}

/// Records that the handler finished with these updates (bot, update_id, when it was received,
/// when the handler finished), in one statement; sorted by key like the inserts so concurrent
/// marks lock rows in the same order. The time is when the handler finished, not when the mark
/// commits: marks may commit out of order (in parallel, or behind an ordered key that moved on),
/// and `handled_at` orders a key's updates.
///
/// The job's own `received_at` names the row's partition when planning (a join through
/// `update_keys` cannot be pruned then, and planning it over every partition costs ~3 ms); a
/// row stored from another delivery of the update (other `received_at`) is found through its key
/// afterwards.
pub async fn mark_updates_handled(
    db: &PgPool,
    keys: &mut [(&str, i64, DateTime<Utc>, DateTime<Utc>)],
) -> Result<(), sqlx::Error> {
    keys.sort_unstable();
    let n = keys.len();
    let (mut bots, mut ids, mut received, mut at) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (bot, id, r, t) in keys.iter() {
        bots.push(*bot);
        ids.push(*id);
        received.push(*r);
        at.push(*t);
    }
    let mut tx = sluice_shared::db::begin(db).await?;
    let marked: HashSet<(String, i64)> = sqlx::query_as(
        "UPDATE updates x SET handled_at = coalesce(x.handled_at, t.at)
         FROM UNNEST($1::text[], $2::int8[], $3::timestamptz[], $4::timestamptz[]) AS t(b, u, r, at)
         WHERE x.bot = t.b AND x.update_id = t.u AND x.received_at = t.r
           AND x.received_at = ANY($3::timestamptz[])
         RETURNING x.bot, x.update_id",
    )
    .persistent(false)
    .bind(&bots)
    .bind(&ids)
    .bind(&received)
    .bind(&at)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let rest: Vec<usize> = (0..n)
        .filter(|&i| !marked.contains(&(bots[i].to_owned(), ids[i])))
        .collect();
    if !rest.is_empty() {
        sqlx::query(
            "UPDATE updates x SET handled_at = t.at
             FROM UNNEST($1::text[], $2::int8[], $3::timestamptz[]) AS t(b, u, at)
             JOIN update_keys k ON k.bot = t.b AND k.update_id = t.u
             WHERE x.bot = k.bot AND x.update_id = k.update_id AND x.received_at = k.received_at
               AND x.handled_at IS NULL",
        )
        .persistent(false)
        .bind(rest.iter().map(|&i| bots[i]).collect::<Vec<_>>())
        .bind(rest.iter().map(|&i| ids[i]).collect::<Vec<_>>())
        .bind(rest.iter().map(|&i| at[i]).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Records that the handler finished with a signed event.
pub async fn mark_event_handled(
    db: &PgPool,
    source: &str,
    key: &str,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut tx = sluice_shared::db::begin(db).await?;
    sqlx::query(
        "UPDATE events e SET handled_at = $3 FROM event_keys k
         WHERE k.source = $1 AND k.idempotency_key = $2 AND e.source = k.source
           AND e.idempotency_key = k.idempotency_key AND e.received_at = k.received_at
           AND e.handled_at IS NULL",
    )
    .persistent(false)
    .bind(source)
    .bind(key)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
