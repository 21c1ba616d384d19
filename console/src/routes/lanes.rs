//! The lanes: `GET /api/v1/lanes` (JSON), `GET /lanes` (page) and `GET /lanes/live` (the
//! page's live block, polled by htmx), all from [`crate::service::lanes`], with admission's
//! last minutes ([`crate::service::admission`]) on the page.

use std::time::Duration;

use axum::{
    Extension, Json,
    extract::State,
    response::{Html, IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sluice_console_pages::{
    PageContext,
    lanes::{self as page, LanePoint, LanesView},
    layout::CsrfToken,
};

use crate::{
    Console,
    auth::Session,
    error::ConsoleError,
    routes::admission,
    service::{
        admission::AdmissionNow,
        lanes::{KEEP, LaneNow},
    },
};

#[derive(Serialize, utoipa::ToSchema)]
pub struct LanesAnswer {
    /// When the numbers were read (RFC 3339).
    pub sampled_at: DateTime<Utc>,
    /// The span of each lane's `history`, in seconds.
    pub window_seconds: u64,
    pub lanes: Vec<LaneNow>,
}

async fn read(console: &Console) -> Result<(DateTime<Utc>, Vec<LaneNow>), ConsoleError> {
    let lanes = console
        .lanes
        .now()
        .await
        .map_err(ConsoleError::unavailable)?;
    Ok((Utc::now(), lanes))
}

/// Every lane now (depth by state, oldest age, rates) with its last hour of samples.
#[utoipa::path(
    get,
    path = "/api/v1/lanes",
    operation_id = "lanes",
    tag = "lanes",
    responses((status = 200, description = "Every lane, high first", body = LanesAnswer))
)]
pub async fn api(State(console): State<Console>) -> Result<Json<LanesAnswer>, ConsoleError> {
    let (sampled_at, lanes) = read(&console).await?;
    Ok(Json(LanesAnswer {
        sampled_at,
        window_seconds: KEEP.as_secs(),
        lanes,
    }))
}

pub async fn page(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
) -> Result<Response, ConsoleError> {
    let (now, lanes) = read(&console).await?;
    let admission = admission::read(&console).await?;
    let ctx = PageContext {
        csrf: CsrfToken::new(session.csrf.clone()),
        flash: None,
        now,
    };
    let html = page::render_lanes(&ctx, &view(now, lanes, admission)).into_string();
    Ok(Html(html).into_response())
}

pub async fn live(State(console): State<Console>) -> Result<Response, ConsoleError> {
    let (now, lanes) = read(&console).await?;
    let admission = admission::read(&console).await?;
    let html = page::render_lanes_live(&view(now, lanes, admission)).into_string();
    Ok(Html(html).into_response())
}

fn view(now: DateTime<Utc>, lanes: Vec<LaneNow>, admission: AdmissionNow) -> LanesView {
    LanesView {
        lanes: lanes.into_iter().map(lane_view).collect(),
        window: KEEP,
        sampled_at: now,
        admission: Some(admission::view(admission)),
    }
}

fn lane_view(l: LaneNow) -> page::LaneView {
    page::LaneView {
        name: l.lane.to_owned(),
        depth: page::Depth {
            pending: l.pending,
            scheduled: l.scheduled,
            inflight: l.inflight,
            dead: l.dead,
        },
        oldest_age: l.oldest_age_seconds.map(Duration::from_secs_f64),
        in_per_sec: l.in_per_sec,
        out_per_sec: l.out_per_sec,
        history: l
            .history
            .iter()
            .filter_map(|p| {
                Some(LanePoint {
                    at: DateTime::from_timestamp(i64::try_from(p.at).ok()?, 0)?,
                    waiting: p.waiting,
                    in_per_sec: p.in_per_sec,
                    out_per_sec: p.out_per_sec,
                })
            })
            .collect(),
    }
}
