//! Reading stored updates a page at a time (keyset pagination on `update_id`), so a command
//! holds one page in memory and no transaction stays open between pages (a long snapshot would
//! hold back vacuum, and PgBouncer in transaction mode would pin a server connection).
//!
//! Every statement filters on `received_at`, the partition key of a time-partitioned `updates`,
//! so Postgres reads only the partitions of the range. The optional filters are
//! `$n IS NULL OR ...`: statements run unnamed (`persistent(false)`), planned with the values
//! bound, so a filter not given costs nothing.

use chrono::{DateTime, Utc};
use sluice_shared::db;
use sqlx::PgPool;

/// Which stored updates: one bot, `since <= received_at < until`, optionally one chat and kind.
#[derive(Debug, Clone)]
pub struct Filter {
    pub bot: String,
    pub chat: Option<i64>,
    pub kind: Option<String>,
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Filter {
    /// The selection of a command line; an open end is `now`, so a run is finite even while the
    /// worker keeps writing.
    pub fn of(sel: &super::args::Selection, now: DateTime<Utc>) -> Filter {
        Filter {
            bot: sel.bot.clone(),
            chat: sel.chat,
            kind: sel.kind.clone(),
            since: sel.since,
            until: sel.until.unwrap_or(now),
        }
    }
}

/// One `updates` row as the history commands read it; `payload` is the stored `jsonb` as text.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredUpdate {
    pub update_id: i64,
    pub kind: String,
    pub chat_id: Option<i64>,
    pub user_id: Option<i64>,
    pub lane: String,
    pub received_at: DateTime<Utc>,
    pub payload: String,
}

/// The filter's condition, shared by every statement here (a macro: `concat!` wants literals).
macro_rules! matching {
    () => {
        "WHERE bot = $1 AND received_at >= $2 AND received_at < $3 \
         AND ($4::bigint IS NULL OR chat_id = $4) AND ($5::text IS NULL OR kind = $5)"
    };
}

/// The matching rows after `after` (in update_id order), `limit` at most.
async fn page(
    pool: &PgPool,
    f: &Filter,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredUpdate>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT update_id, kind, chat_id, user_id, lane, received_at, payload::text AS payload \
         FROM updates ",
        matching!(),
        " AND ($6::bigint IS NULL OR update_id > $6) ORDER BY update_id LIMIT $7"
    );
    let mut tx = db::begin(pool).await?;
    let rows = sqlx::query_as(SQL)
        .persistent(false)
        .bind(&f.bot)
        .bind(f.since)
        .bind(f.until)
        .bind(f.chat)
        .bind(f.kind.as_deref())
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// The matching rows, a page at a time.
pub struct Pages {
    pool: PgPool,
    filter: Filter,
    after: Option<i64>,
    size: i64,
    done: bool,
}

impl Pages {
    pub fn new(pool: PgPool, filter: Filter, size: i64) -> Pages {
        Pages {
            pool,
            filter,
            after: None,
            size,
            done: false,
        }
    }

    /// The next page, or `None` after the last.
    pub async fn next(&mut self) -> Result<Option<Vec<StoredUpdate>>, sqlx::Error> {
        if self.done {
            return Ok(None);
        }
        let rows = page(&self.pool, &self.filter, self.after, self.size).await?;
        self.done = (rows.len() as i64) < self.size;
        match rows.last() {
            Some(last) => self.after = Some(last.update_id),
            None => return Ok(None),
        }
        Ok(Some(rows))
    }
}

/// How many rows match, and their update_id and `received_at` ranges.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Summary {
    pub count: i64,
    pub first_update_id: Option<i64>,
    pub last_update_id: Option<i64>,
    pub first_received_at: Option<DateTime<Utc>>,
    pub last_received_at: Option<DateTime<Utc>>,
}

pub async fn summary(pool: &PgPool, f: &Filter) -> Result<Summary, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT count(*) AS count, min(update_id) AS first_update_id, \
         max(update_id) AS last_update_id, min(received_at) AS first_received_at, \
         max(received_at) AS last_received_at FROM updates ",
        matching!()
    );
    let mut tx = db::begin(pool).await?;
    let s = sqlx::query_as(SQL)
        .persistent(false)
        .bind(&f.bot)
        .bind(f.since)
        .bind(f.until)
        .bind(f.chat)
        .bind(f.kind.as_deref())
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(s)
}
