//! The live lane consumers: `GET /api/v1/workers` (JSON) and `GET /workers` (page), from
//! [`crate::service::workers`].

use axum::{
    Extension, Json,
    extract::State,
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sluice_console_pages::{
    PageContext,
    layout::CsrfToken,
    workers::{WorkerRow, WorkersView, render_workers},
};

use crate::{
    Console,
    auth::Session,
    error::ConsoleError,
    service::workers::{Consumer, STALE_AFTER},
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkersAnswer {
    pub sampled_at: DateTime<Utc>,
    /// A consumer whose last heartbeat is older than this is `stale` (it may have died; its
    /// jobs go back to the lane after the worker's orphan timeout).
    pub stale_after_seconds: u64,
    pub workers: Vec<WorkerJson>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkerJson {
    #[serde(flatten)]
    pub consumer: Consumer,
    pub stale: bool,
}

async fn read(console: &Console) -> Result<(DateTime<Utc>, Vec<Consumer>), ConsoleError> {
    let consumers = console
        .workers
        .list()
        .await
        .map_err(ConsoleError::unavailable)?;
    Ok((Utc::now(), consumers))
}

/// The live lane consumers, with whether each is stale.
#[utoipa::path(
    get,
    path = "/api/v1/workers",
    operation_id = "workers",
    tag = "workers",
    responses((status = 200, description = "Every consumer, by lane then name", body = WorkersAnswer))
)]
pub async fn api(State(console): State<Console>) -> Result<Json<WorkersAnswer>, ConsoleError> {
    let (now, consumers) = read(&console).await?;
    let workers = consumers
        .into_iter()
        .map(|c| WorkerJson {
            stale: c.stale(now),
            consumer: c,
        })
        .collect();
    Ok(Json(WorkersAnswer {
        sampled_at: now,
        stale_after_seconds: STALE_AFTER.as_secs(),
        workers,
    }))
}

pub async fn page(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
) -> Result<Response, ConsoleError> {
    let (now, consumers) = read(&console).await?;
    let view = WorkersView {
        workers: consumers
            .iter()
            .map(|c| WorkerRow {
                name: c.name.clone(),
                lane: c.lane.to_owned(),
                host: c.host.clone(),
                // apalis-redis records no start time, nor the worker's concurrency.
                started_at: None,
                last_heartbeat: c.last_heartbeat_at(),
                in_flight: c.in_flight,
                concurrency: None,
            })
            .collect(),
        stale_after: STALE_AFTER,
    };
    let ctx = PageContext {
        csrf: CsrfToken::new(session.csrf.clone()),
        flash: None,
        now,
    };
    Ok(Html(render_workers(&ctx, &view).into_string()).into_response())
}
