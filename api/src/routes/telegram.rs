//! `POST /webhook/telegram/{bot}`: authenticate, classify, enqueue, and only then answer 2xx.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, State},
    http::HeaderMap,
    routing::post,
};
use serde_json::value::RawValue;
use sluice_shared::{envelope::UpdateEnvelope, metrics as m, telegram};

use super::{answer::Accepted, body::read_body};
use crate::{
    enqueue::Enqueued,
    error::ApiError,
    registry::Lookup,
    startup::AppState,
    verify::{VerifiedBot, verify_secret},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/telegram/{bot}", post(webhook))
}

async fn webhook(
    State(app): State<AppState>,
    Path(bot): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Accepted>, ApiError> {
    let result = accept(&app, bot, &headers, body).await;
    let outcome = match &result {
        Ok((_, Enqueued::New { .. })) => "accepted",
        Ok((_, Enqueued::Duplicate)) => "duplicate",
        Err(e) => e.code(),
    };
    let lane = result.as_ref().map_or("none", |(lane, _)| *lane);
    metrics::counter!(m::WEBHOOK_UPDATES_TOTAL, m::LABEL_OUTCOME => outcome, m::LABEL_LANE => lane)
        .increment(1);
    Ok(Json(match result? {
        (_, Enqueued::New { job_id }) => Accepted {
            ok: true,
            id: Some(job_id),
            duplicate: None,
        },
        (_, Enqueued::Duplicate) => Accepted {
            ok: true,
            id: None,
            duplicate: Some(true),
        },
    }))
}

async fn accept(
    app: &AppState,
    bot: String,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Enqueued), ApiError> {
    let entry = match app.registry.lookup(&bot) {
        Lookup::Found(entry) => entry,
        Lookup::Unknown => return Err(ApiError::UnknownBot(bot)),
        Lookup::NotLoaded => return Err(ApiError::Retry("the bot registry is not loaded yet")),
    };
    let verified = verify_secret(&entry, headers)?;
    let body = read_body(headers, body, app.max_body_bytes).await?;
    let env = envelope(app, verified, body)?;
    let lane = env.lane.as_str();
    let enqueued = app.enqueuer.enqueue(&env).await.map_err(|e| {
        tracing::warn!(error = %e, bot = %env.bot, update_id = env.update_id, "enqueue failed; answering 503");
        ApiError::Retry("the update could not be queued; retry later")
    })?;
    Ok((lane, enqueued))
}

/// Builds the job from the verified delivery, keeping the body bytes exactly as received.
fn envelope(app: &AppState, bot: VerifiedBot, body: Bytes) -> Result<UpdateEnvelope, ApiError> {
    let c = telegram::classify(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // classify() accepted the bytes as JSON, so they are UTF-8; the check costs one pass.
    let text = String::from_utf8(body.into())
        .map_err(|_| ApiError::BadRequest("body is not UTF-8".into()))?;
    let payload = RawValue::from_string(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let lane = app.lane_rules.lane_for(&c.kind, c.is_command);
    Ok(UpdateEnvelope {
        bot: bot.name,
        update_id: c.update_id,
        kind: c.kind,
        chat_id: c.chat_id,
        user_id: c.user_id,
        lane,
        received_at_ms: now_ms(),
        payload,
        attempt: 0,
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
