//! `POST /webhook/hooks/{source}`: signed webhooks from any provider. Verify the signature over
//! the raw body, check freshness and replay, enqueue, and only then answer 2xx.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{Json, Router, body::Body, extract::State, http::HeaderMap, routing::post};
use sluice_shared::metrics as m;

use sha2::{Digest, Sha256};

use super::{
    admit::{self, Taken},
    answer::Accepted,
    body::read_body,
    name::Name,
};
use crate::{
    access,
    admission::Subject,
    enqueue::Enqueued,
    error::ApiError,
    registry::{BotLimits, Lookup},
    replay::{Claim, ReplayError},
    signature::{ReplayStamp, Unverified},
    sources::{Source, extract},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/hooks/{source}", post(webhook))
}

async fn webhook(
    State(app): State<AppState>,
    Name(name): Name,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Accepted>, ApiError> {
    access::record("source", &name.as_str());
    let (scheme, result) = match app.sources.lookup(&name) {
        Lookup::Found(src) => (
            src.scheme.as_str(),
            accept(&app, &src, &headers, body).await,
        ),
        Lookup::Unknown => ("none", Err(ApiError::UnknownSource(name))),
        Lookup::NotLoaded => (
            "none",
            Err(ApiError::Retry("the source registry is not loaded yet")),
        ),
    };
    let (outcome, lane) = match &result {
        Ok((lane, Taken::Queued(Enqueued::New { .. }))) => ("accepted", *lane),
        Ok((lane, Taken::Queued(Enqueued::Duplicate))) => ("duplicate", *lane),
        Ok((lane, Taken::Dropped)) => ("dropped", *lane),
        Err(e) => (e.code(), "none"),
    };
    access::record("outcome", &outcome);
    metrics::counter!(m::HOOK_DELIVERIES_TOTAL,
        m::LABEL_SCHEME => scheme, m::LABEL_OUTCOME => outcome, m::LABEL_LANE => lane)
    .increment(1);
    Ok(Json(match result?.1 {
        Taken::Queued(enqueued) => enqueued.into(),
        Taken::Dropped => Accepted {
            ok: true,
            dropped: Some(true),
            ..Accepted::default()
        },
    }))
}

/// The pipeline, cheapest refusals first: signature header → body → MAC and freshness → JSON
/// and keys → replay claim → durable enqueue.
async fn accept(
    app: &AppState,
    src: &Source,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Taken), ApiError> {
    let unverified = Unverified::from_headers(src.scheme, headers)?;
    // `_held` keeps the body's budget until the delivery is answered.
    let (body, _held) =
        read_body(headers, body, app.max_body_bytes, &app.body_budgets.hooks).await?;
    let (now_s, now_ms) = now();
    let verified = tracing::debug_span!("verify", source = %src.name)
        .in_scope(|| unverified.verify(src.secrets(), body, now_s, src.tolerance))?;
    let stamp = verified.replay_stamp().cloned();
    let event = extract::event(src, headers, verified, now_ms)?;
    let claim = claim_once(app, src, stamp.as_ref()).await?;
    // The source's bucket stands where a bot's would (default bot limits), its rate key's where
    // a chat's would: one flooding customer is braked without starving the others.
    let bucket = format!("src:{}", src.name);
    let subject = Subject {
        bot_id: source_bucket(&src.name),
        bot: &bucket,
        limits: BotLimits::default(),
        chat: event.rate_key.as_deref().map(key_bucket),
        lane: event.job.lane,
    };
    match admit::admit(app, &subject, &event.job).await {
        Ok(taken) => Ok((event.job.lane.as_str(), taken)),
        Err(e) => {
            // Refused or not queued: the sender's retry of this very request must be accepted.
            if let Some(claim) = claim {
                app.replay.release(claim).await;
            }
            Err(e)
        }
    }
}

/// A bucket id for a source, apart from the bots' ids (which are positive).
fn source_bucket(name: &str) -> i64 {
    -(key_bucket(name) & i64::MAX).max(1)
}

/// A 64-bit bucket key from a text key (SHA-256, first 8 bytes).
fn key_bucket(key: &str) -> i64 {
    let digest = Sha256::digest(key.as_bytes());
    i64::from_be_bytes(digest[..8].try_into().unwrap_or_default())
}

/// Claims a timestamped delivery against replay; schemes without a timestamp have no stamp.
async fn claim_once(
    app: &AppState,
    src: &Source,
    stamp: Option<&ReplayStamp>,
) -> Result<Option<Claim>, ApiError> {
    let Some(stamp) = stamp else {
        return Ok(None);
    };
    match app.replay.claim(&src.name, stamp).await {
        Ok(claim) => Ok(Some(claim)),
        Err(ReplayError::Replayed) => Err(ApiError::Replayed),
        Err(e) => {
            tracing::warn!(error = %e, source = %src.name, "replay check failed; answering 503");
            Err(e.into())
        }
    }
}

/// Now, in Unix seconds (signature freshness) and milliseconds (the envelope's received_at).
fn now() -> (i64, i64) {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    (ms / 1000, ms)
}
