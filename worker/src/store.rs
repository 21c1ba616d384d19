//! SQL of the worker, one function per statement.

use sluice_shared::{envelope::UpdateEnvelope, event::EventEnvelope};
use sqlx::{PgPool, types::Json};

/// One row to insert, borrowed from its job.
pub struct Row<'a> {
    pub env: &'a UpdateEnvelope,
    pub job_id: &'a str,
}

/// Inserts the rows in one statement; a (bot, update_id) already there is left alone, so a job
/// that runs twice (orphan recovery, retry, replay) still makes one row. Returns rows inserted.
///
/// Rows are sorted by key so concurrent batches lock index entries in the same order and cannot
/// deadlock each other.
pub async fn insert_updates(db: &PgPool, rows: &mut [Row<'_>]) -> Result<u64, sqlx::Error> {
    rows.sort_by(|a, b| (&a.env.bot, a.env.update_id).cmp(&(&b.env.bot, b.env.update_id)));
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
    for r in rows.iter() {
        bot.push(r.env.bot.as_str());
        update_id.push(r.env.update_id);
        kind.push(r.env.kind.as_str());
        chat.push(r.env.chat_id);
        user.push(r.env.user_id);
        lane.push(r.env.lane.as_str());
        payload.push(r.env.payload.get());
        job.push(r.job_id);
        received.push(
            chrono::DateTime::from_timestamp_millis(r.env.received_at_ms).unwrap_or_default(),
        );
    }
    let mut tx = sluice_shared::db::begin(db).await?;
    let done = sqlx::query(
        "INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id, received_at)
         SELECT b, u, k, c, us, l, p::jsonb, j, r
         FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::int8[], $5::int8[], $6::text[],
                     $7::text[], $8::text[], $9::timestamptz[]) AS t(b, u, k, c, us, l, p, j, r)
         ON CONFLICT (bot, update_id) DO NOTHING",
    )
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
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Inserts a signed event's row; an event already there for (source, idempotency key) is left
/// alone. Returns whether it inserted.
pub async fn insert_event(
    db: &PgPool,
    env: &EventEnvelope,
    job_id: &str,
) -> Result<bool, sqlx::Error> {
    let received_at =
        chrono::DateTime::from_timestamp_millis(env.received_at_ms).unwrap_or_default();
    let mut tx = sluice_shared::db::begin(db).await?;
    let done = sqlx::query(
        "INSERT INTO events (source, idempotency_key, kind, rate_key, lane, payload, job_id, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (source, idempotency_key) DO NOTHING",
    )
    .persistent(false)
    .bind(&env.source)
    .bind(&env.idempotency_key)
    .bind(&env.kind)
    .bind(&env.rate_key)
    .bind(env.lane.as_str())
    .bind(Json(&env.payload))
    .bind(job_id)
    .bind(received_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() == 1)
}
