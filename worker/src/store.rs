//! SQL of the worker, one function per statement.

use sqlx::{PgPool, types::Json};

use sluice_shared::envelope::UpdateEnvelope;

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
