//! Admission: `GET /api/v1/admission` (JSON), from [`crate::service::admission`]; the lanes page
//! shows the same in its admission section ([`view`]).

use axum::{Json, extract::State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sluice_console_pages::lanes::{AdmissionView, Decision, Limited};

use crate::{
    Console,
    error::ConsoleError,
    service::admission::{AdmissionNow, WINDOW},
};

/// Admission decisions of every api replica over the last 5 minutes, and the most limited bots
/// and chats.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AdmissionAnswer {
    /// When the buckets were read (RFC 3339).
    pub sampled_at: DateTime<Utc>,
    #[serde(flatten)]
    pub admission: AdmissionNow,
}

pub async fn read(console: &Console) -> Result<AdmissionNow, ConsoleError> {
    (console.admission.recent().await).map_err(ConsoleError::unavailable)
}

#[utoipa::path(
    get,
    path = "/api/v1/admission",
    operation_id = "admission",
    tag = "admission",
    responses((status = 200, description = "Decisions by lane, the most limited bots and chats", body = AdmissionAnswer))
)]
pub async fn api(State(console): State<Console>) -> Result<Json<AdmissionAnswer>, ConsoleError> {
    let admission = read(&console).await?;
    Ok(Json(AdmissionAnswer {
        sampled_at: Utc::now(),
        admission,
    }))
}

/// The page's admission section: the decisions, and the limited bots and chats together, most
/// refused first.
pub fn view(a: AdmissionNow) -> AdmissionView {
    let kind = |bot: &str| match bot.starts_with("src:") {
        true => "source",
        false => "bot",
    };
    let bots = a.limited_bots.into_iter().map(|b| Limited {
        kind: kind(&b.bot).to_owned(),
        key: b.bot,
        refused: b.refused,
    });
    let chats = a.limited_chats.into_iter().map(|c| Limited {
        kind: "chat".to_owned(),
        key: format!("{} / {}", c.bot, c.chat),
        refused: c.refused,
    });
    let mut most_limited: Vec<Limited> = bots.chain(chats).collect();
    most_limited.sort_by_key(|l| std::cmp::Reverse(l.refused));
    AdmissionView {
        window: WINDOW,
        decisions: a
            .decisions
            .into_iter()
            .map(|d| Decision {
                lane: d.lane.to_owned(),
                outcome: d.decision.to_owned(),
                count: d.count,
            })
            .collect(),
        most_limited,
    }
}
