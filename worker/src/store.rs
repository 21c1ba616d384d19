//! SQL of the worker, one function per statement.

use sqlx::{PgPool, types::Json};

use sluice_shared::{envelope::UpdateEnvelope, event::EventEnvelope};

/// Inserts the update's row; a row already there for (bot, update_id) is left alone, so a job
/// that runs twice (orphan recovery, replay) still makes one row. Returns whether it inserted.
pub async fn insert_update(
    db: &PgPool,
    env: &UpdateEnvelope,
    job_id: &str,
) -> Result<bool, sqlx::Error> {
    let received_at =
        chrono::DateTime::from_timestamp_millis(env.received_at_ms).unwrap_or_default();
    let done = sqlx::query(
        "INSERT INTO updates (bot, update_id, kind, chat_id, user_id, lane, payload, job_id, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (bot, update_id) DO NOTHING",
    )
    .bind(&env.bot)
    .bind(env.update_id)
    .bind(&env.kind)
    .bind(env.chat_id)
    .bind(env.user_id)
    .bind(env.lane.as_str())
    .bind(Json(&env.payload))
    .bind(job_id)
    .bind(received_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inserts a signed event's row; one already there for (source, idempotency_key) is left alone,
/// so a provider's re-delivery that got past the Redis dedup window (Stripe retries for days)
/// still makes one row. Returns whether it inserted.
pub async fn insert_event(
    db: &PgPool,
    env: &EventEnvelope,
    job_id: &str,
) -> Result<bool, sqlx::Error> {
    let received_at =
        chrono::DateTime::from_timestamp_millis(env.received_at_ms).unwrap_or_default();
    let done = sqlx::query(
        "INSERT INTO events (source, idempotency_key, kind, rate_key, lane, payload, job_id, received_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (source, idempotency_key) DO NOTHING",
    )
    .bind(&env.source)
    .bind(&env.idempotency_key)
    .bind(&env.kind)
    .bind(&env.rate_key)
    .bind(env.lane.as_str())
    .bind(Json(&env.payload))
    .bind(job_id)
    .bind(received_at)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
