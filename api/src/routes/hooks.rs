//! `POST /webhook/hooks/{source}`: signed webhooks from any provider. Verify the signature over
//! the raw body, check freshness and replay, enqueue, and only then answer 2xx.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, State},
    http::HeaderMap,
    routing::post,
};
use sluice_shared::metrics as m;

use super::{answer::Accepted, body::read_body};
use crate::{
    enqueue::Enqueued,
    error::ApiError,
    replay::{Claim, ReplayError},
    signature::{ReplayStamp, Unverified},
    sources::{Source, extract, registry::Lookup},
    startup::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook/hooks/{source}", post(webhook))
}

async fn webhook(
    State(app): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Accepted>, ApiError> {
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
        Ok((lane, Enqueued::New { .. })) => ("accepted", *lane),
        Ok((lane, Enqueued::Duplicate)) => ("duplicate", *lane),
        Err(e) => (e.code(), "none"),
    };
    metrics::counter!(m::HOOK_DELIVERIES_TOTAL,
        m::LABEL_SCHEME => scheme, m::LABEL_OUTCOME => outcome, m::LABEL_LANE => lane)
    .increment(1);
    Ok(Json(result?.1.into()))
}

/// The pipeline, cheapest refusals first: signature header → body → MAC and freshness → JSON
/// and keys → replay claim → durable enqueue.
async fn accept(
    app: &AppState,
    src: &Source,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'static str, Enqueued), ApiError> {
    let unverified = Unverified::from_headers(src.scheme, headers)?;
    let body = read_body(headers, body, app.max_body_bytes).await?;
    let (now_s, now_ms) = now();
    let verified = unverified.verify(src.secrets(), body, now_s, src.tolerance)?;
    let stamp = verified.replay_stamp().cloned();
    let event = extract::event(src, headers, verified, now_ms)?;
    // Admission control keys on `event.rate_key` (the source's --rate-key-pointer) here, before
    // anything is written to Redis.
    let claim = claim_once(app, src, stamp.as_ref()).await?;
    match app.enqueuer.enqueue(&event).await {
        Ok(enqueued) => Ok((event.lane.as_str(), enqueued)),
        Err(e) => {
            if let Some(claim) = claim {
                app.replay.release(claim).await;
            }
            tracing::warn!(error = %e, source = %event.source, key = %event.idempotency_key,
                "enqueue failed; answering 503");
            Err(ApiError::Retry(
                "the event could not be queued; retry later",
            ))
        }
    }
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
