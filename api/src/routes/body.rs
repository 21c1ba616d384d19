//! Reading a webhook's request body: bounded in size, in time and by the route's budget of
//! bytes in flight; bytes kept as received.

use std::time::Duration;

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, header::CONTENT_LENGTH},
};
use http_body_util::BodyExt;

use super::budget::{BodyBudget, BodyBytes};
use crate::error::ApiError;

/// A slow sender must not hold a connection and a worker thread forever.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads the body up to `limit` bytes, refusing early when Content-Length already says too much.
/// The buffer's memory is taken from `budget` as it grows; keep the returned [`BodyBytes`] as
/// long as the bytes (or copies of them) live.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: u64,
    budget: &BodyBudget,
) -> Result<(Bytes, BodyBytes), ApiError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::TooLarge { limit });
    }
    tokio::time::timeout(BODY_READ_TIMEOUT, collect(body, limit, budget))
        .await
        .unwrap_or(Err(ApiError::BodyTimeout))
}

async fn collect(
    mut body: Body,
    limit: u64,
    budget: &BodyBudget,
) -> Result<(Bytes, BodyBytes), ApiError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut held = BodyBytes::default();
    let mut buf: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|_| ApiError::BadRequest("the request body could not be read".into()))?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let need = buf.len() + data.len();
        if need > limit {
            return Err(ApiError::TooLarge {
                limit: limit as u64,
            });
        }
        if need > buf.capacity() {
            // Budget the allocation, not just the bytes: growth doubles, capped at the limit.
            let cap = need.next_power_of_two().min(limit).max(need);
            budget.take(&mut held, cap - buf.capacity())?;
            buf.reserve_exact(cap - buf.len());
        }
        buf.extend_from_slice(&data);
    }
    Ok((Bytes::from(buf), held))
}
