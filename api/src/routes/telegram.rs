//! `POST /webhook/telegram/{bot}`: authenticate, classify, admit, enqueue, and only then
//! answer 2xx.

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::State,
    http::HeaderMap,
    routing::post,
};
use serde_json::value::RawValue;
use sluice_shared::{
    job::{Job, Origin},
    jsonb, metrics as m, telegram,
    telemetry::propagate,
};

use super::{
    admit::{self, Taken},
    answer::Accepted,
    body::read_body,
    budget::BodyBytes,
    name::Name,
};
use crate::{
    access,
    admission::Subject,
    enqueue::Enqueued,
    error::ApiError,
    registry::{BotEntry, Lookup},
    state::AppState,
    verify::{VerifiedBot, verify_secret},
};

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/telegram/{bot}", post(webhook))
}

async fn webhook(
    State(app): State<AppState>,
    Name(bot): Name,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Accepted>, ApiError> {
    access::record("bot", &bot.as_str());
    // A registered bot's name labels the count; a name the registry does not hold does not (the
    // caller chose it: an unbounded label set).
    // One lookup serves the label and the delivery.
    let found = app.registry.lookup(&bot);
    let bot_label = match &found {
        Lookup::Found(_) => bot.clone(),
        Lookup::Unknown | Lookup::NotLoaded => String::new(),
    };
    // `_held`: the body's budget is given back when the answer is ready, not before.
    let (lane, result, _held) = match receive(&app, bot, found, &headers, body).await {
        Ok(r) => {
            if let Origin::Telegram { update_id, .. } = &r.job.origin {
                access::record("update_id", update_id);
            }
            (r.job.lane.as_str(), admit(&app, &r).await, r.held)
        }
        Err(e) => ("none", Err(e), BodyBytes::default()),
    };
    let outcome = match &result {
        Ok(Taken::Queued(Enqueued::New { .. })) => "accepted",
        Ok(Taken::Queued(Enqueued::Duplicate)) => "duplicate",
        Ok(Taken::Dropped) => "dropped",
        Err(e) => e.code(),
    };
    access::record("outcome", &outcome);
    metrics::counter!(m::WEBHOOK_UPDATES_TOTAL,
        m::LABEL_OUTCOME => outcome, m::LABEL_LANE => lane, m::LABEL_BOT => bot_label)
    .increment(1);
    let ok = Accepted {
        ok: true,
        ..Accepted::default()
    };
    Ok(Json(match result? {
        Taken::Queued(Enqueued::New { job_id }) => Accepted {
            id: Some(job_id),
            ..ok
        },
        Taken::Queued(Enqueued::Duplicate) => Accepted {
            duplicate: Some(true),
            ..ok
        },
        Taken::Dropped => Accepted {
            dropped: Some(true),
            ..ok
        },
    }))
}

/// A delivery that passed every check before admission.
struct Received {
    bot: VerifiedBot,
    job: Job,
    /// The chat bucket's key: the update's chat, else its user.
    chat: Option<i64>,
    /// The body's share of the route's budget, given back once the answer is ready.
    held: BodyBytes,
}

/// Everything before admission: the bot, its secret, the body, the job.
async fn receive(
    app: &AppState,
    bot: String,
    found: Lookup<Arc<BotEntry>>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Received, ApiError> {
    let entry = match found {
        Lookup::Found(entry) => entry,
        Lookup::Unknown => return Err(ApiError::UnknownBot(bot)),
        Lookup::NotLoaded => return Err(ApiError::Retry("the bot registry is not loaded yet")),
    };
    let verified =
        tracing::debug_span!("verify", bot = %bot).in_scope(|| verify_secret(&entry, headers))?;
    let budget = &app.body_budgets.telegram;
    let (body, held) = read_body(headers, body, app.max_body_bytes, budget).await?;
    let (job, chat) = envelope(app, &verified, body)?;
    Ok(Received {
        bot: verified,
        job,
        chat,
        held,
    })
}

/// Admission control for the bot's and the chat's buckets, then the enqueue (scheduled later for
/// a delay); counts the decision.
async fn admit(app: &AppState, r: &Received) -> Result<Taken, ApiError> {
    let subject = Subject {
        bot_id: r.bot.id(),
        bot: r.bot.name(),
        limits: r.bot.limits(),
        chat: r.chat,
        lane: r.job.lane,
    };
    admit::admit(app, &subject, &r.job).await
}

/// Builds the job from the verified delivery, keeping the body bytes exactly as received, and
/// the key of its chat bucket.
fn envelope(
    app: &AppState,
    bot: &VerifiedBot,
    body: Bytes,
) -> Result<(Job, Option<i64>), ApiError> {
    let c = telegram::classify(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    // Only now is the body known to be JSON; a body the worker could never insert into `jsonb`
    // must be refused here, not acknowledged and then dead-lettered.
    jsonb::check(&body).map_err(|e| ApiError::BadRequest(format!("cannot be stored: {e}")))?;
    if let Some(why) = c.fallback {
        let subject = if c.user_id.is_some() { "user" } else { "none" };
        metrics::counter!(m::ADMISSION_SUBJECT_FALLBACKS_TOTAL,
            m::LABEL_REASON => why.as_str(), m::LABEL_SUBJECT => subject)
        .increment(1);
    }
    // classify() accepted the bytes as JSON, so they are UTF-8; the check costs one pass.
    let text = String::from_utf8(body.into())
        .map_err(|_| ApiError::BadRequest("body is not UTF-8".into()))?;
    let payload = RawValue::from_string(text).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let lane = app.lane_rules.lane_for(&c.kind, c.is_command);
    // Telegram queues by chat, or by user for updates without one (counted above when the
    // update should have had a chat).
    let chat = c.chat_id.or(c.user_id);
    let job = Job {
        origin: Origin::Telegram {
            bot: bot.name().to_owned(),
            update_id: c.update_id,
            chat: c.chat_id,
            user: c.user_id,
        },
        kind: c.kind,
        lane,
        received_at_ms: now_ms(),
        payload,
        attempt: 0,
        // The request's span: the worker's spans continue its trace.
        traceparent: propagate::traceparent(&tracing::Span::current()),
    };
    Ok((job, chat))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
