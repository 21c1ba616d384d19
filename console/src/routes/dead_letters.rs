//! The dead letters' JSON API: `GET /api/v1/dead-letters` (filters and cursor as query
//! parameters), `GET /api/v1/dead-letters/{id}`, and `POST /api/v1/dead-letters/replay|purge`
//! (ids or a filter; `dry_run: true` counts only), all through [`crate::service::dead_letters`].

use axum::{
    Json,
    extract::{Path, Query, State, rejection::JsonRejection, rejection::QueryRejection},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sluice_shared::{
    dlq::{Cursor, DeadLetter},
    job::Origin,
};

use crate::{
    Console,
    error::{ConsoleError, ErrorBody},
    service::dead_letters::{
        PAGE,
        filter::{FilterFields, api_target},
    },
};

/// The list's query parameters: the filter fields ([`FilterFields`]), `cursor` and `limit`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `high`, `normal` or `low`.
    lane: Option<String>,
    /// A bot or a source of this name (give one of `origin`, `bot` and `source`).
    origin: Option<String>,
    /// A bot of this name.
    bot: Option<String>,
    /// A source of this name.
    source: Option<String>,
    /// Text the reason contains (ASCII letters case-insensitive); such a page examines a
    /// bounded number of letters and may hold fewer than `limit`, even none, with a `next`.
    reason: Option<String>,
    /// Died at or after: RFC 3339, or `YYYY-MM-DDTHH:MM[:SS[.fff]]` in UTC.
    since: Option<String>,
    /// Died before, same forms.
    until: Option<String>,
    /// The `next` of the previous page.
    cursor: Option<String>,
    /// Letters per page: 50 unless given, at most 500.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ListAnswer<'a> {
    pub letters: Vec<LetterJson<'a>>,
    /// The `cursor` of the next page; `null` after the last.
    pub next: Option<String>,
    /// Letters this page examined (more than it holds when filtering by reason).
    pub scanned: u64,
    /// How many match in all, when that is cheap to count (no reason filter); else `null`.
    pub matching: Option<u64>,
}

/// One dead letter; `payload` only in the answer about one letter.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LetterJson<'a> {
    pub id: &'a str,
    /// `high`, `normal` or `low`.
    pub lane: &'static str,
    pub origin: OriginJson<'a>,
    pub kind: &'a str,
    pub reason: &'a str,
    /// Attempts made, the last one included.
    pub attempts: u32,
    pub received_at: Option<DateTime<Utc>>,
    pub dead_at: Option<DateTime<Utc>>,
    /// The update or event as it was received (JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub payload: Option<&'a RawValue>,
}

/// Where the letter came from: a Telegram bot's update or a signed source's event.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum OriginJson<'a> {
    Bot {
        name: &'a str,
        update_id: i64,
        chat: Option<i64>,
        user: Option<i64>,
    },
    Source {
        name: &'a str,
        key: &'a str,
    },
}

impl<'a> LetterJson<'a> {
    fn of(l: &'a DeadLetter, with_payload: bool) -> LetterJson<'a> {
        let job = &l.envelope;
        let origin = match &job.origin {
            Origin::Telegram {
                bot,
                update_id,
                chat,
                user,
            } => OriginJson::Bot {
                name: bot,
                update_id: *update_id,
                chat: *chat,
                user: *user,
            },
            Origin::Signed { source, key, .. } => OriginJson::Source { name: source, key },
        };
        LetterJson {
            id: &l.id,
            lane: l.lane().as_str(),
            origin,
            kind: &job.kind,
            reason: &l.reason,
            attempts: job.attempt.saturating_add(1),
            received_at: DateTime::from_timestamp_millis(job.received_at_ms),
            dead_at: DateTime::from_timestamp_millis(l.dead_at_ms),
            payload: with_payload.then_some(&*job.payload),
        }
    }
}

fn bad_query(e: QueryRejection) -> ConsoleError {
    ConsoleError::BadRequest(e.body_text())
}

/// One page of dead letters, newest first, without their payloads.
#[utoipa::path(
    get,
    path = "/api/v1/dead-letters",
    operation_id = "list_dead_letters",
    tag = "dead-letters",
    params(ListParams),
    responses(
        (status = 200, description = "One page", body = ListAnswer),
        (status = 400, description = "A bad filter field, cursor or parameter", body = ErrorBody),
    )
)]
pub async fn list(
    State(console): State<Console>,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ConsoleError> {
    let Query(p) = params.map_err(bad_query)?;
    let fields = FilterFields {
        lane: p.lane,
        origin: p.origin,
        bot: p.bot,
        source: p.source,
        reason: p.reason,
        since: p.since,
        until: p.until,
    };
    let filter = fields.filter()?;
    let cursor = p.cursor.map(|c| c.parse::<Cursor>()).transpose()?;
    let desk = &console.dead_letters;
    let page = desk
        .list(&filter, cursor.as_ref(), p.limit.unwrap_or(PAGE))
        .await?;
    let answer = ListAnswer {
        letters: page
            .letters
            .iter()
            .map(|l| LetterJson::of(l, false))
            .collect(),
        next: page.next.as_ref().map(Cursor::to_string),
        scanned: page.scanned,
        matching: desk.matching(&filter).await?,
    };
    Ok(Json(
        serde_json::to_value(answer).map_err(ConsoleError::unavailable)?,
    ))
}

/// One dead letter with its payload.
#[utoipa::path(
    get,
    path = "/api/v1/dead-letters/{id}",
    operation_id = "get_dead_letter",
    tag = "dead-letters",
    params(("id" = String, Path, description = "The letter's id")),
    responses(
        (status = 200, description = "The letter", body = LetterJson),
        (status = 404, description = "No dead letter has this id", body = ErrorBody),
    )
)]
pub async fn get(
    State(console): State<Console>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ConsoleError> {
    let letter = console
        .dead_letters
        .get(&id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let json = serde_json::to_value(LetterJson::of(&letter, true));
    Ok(Json(json.map_err(ConsoleError::unavailable)?))
}

/// A replay's or purge's body: `ids`, or `filter` (or `all: true` for every letter); the
/// letters dying after the request are never taken.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// These letters (ids not found are counted, not refused).
    #[serde(default)]
    ids: Vec<String>,
    /// The letters matching this filter.
    #[serde(default)]
    filter: FilterFields,
    /// Every letter (an empty filter alone is refused).
    #[serde(default)]
    all: bool,
    /// Count only; change nothing.
    #[serde(default)]
    dry_run: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ActionAnswer {
    /// What a dry run counted: all of them when `exact`, else at least `matching` after
    /// examining `scanned` (a filter by reason stops at the scan budget).
    DryRun {
        dry_run: bool,
        matching: u64,
        exact: bool,
        scanned: u64,
    },
    Done {
        dry_run: bool,
        /// Letters replayed or purged.
        done: u64,
        /// Ids asked for that were no dead letter (any more).
        not_found: u64,
    },
}

#[derive(Clone, Copy)]
enum Act {
    Replay,
    Purge,
}

async fn act(
    console: Console,
    body: Result<Json<ActionBody>, JsonRejection>,
    what: Act,
) -> Result<Json<ActionAnswer>, ConsoleError> {
    let Json(b) = body.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let target = api_target(b.ids, &b.filter, b.all, Utc::now().timestamp_millis())?;
    let desk = &console.dead_letters;
    if b.dry_run {
        let c = desk.count(&target).await?;
        return Ok(Json(ActionAnswer::DryRun {
            dry_run: true,
            matching: c.matching,
            exact: c.exact,
            scanned: c.scanned,
        }));
    }
    let done = match what {
        Act::Replay => desk.replay(&target).await?,
        Act::Purge => desk.purge(&target).await?,
    };
    Ok(Json(ActionAnswer::Done {
        dry_run: false,
        done: done.done,
        not_found: done.not_found,
    }))
}

/// Puts letters back in their lanes' queues (attempt 0), or with `dry_run` counts them.
#[utoipa::path(
    post,
    path = "/api/v1/dead-letters/replay",
    operation_id = "replay_dead_letters",
    tag = "dead-letters",
    request_body = ActionBody,
    responses(
        (status = 200, description = "Replayed, or counted", body = ActionAnswer),
        (status = 400, description = "Not this route's JSON, or no target", body = ErrorBody),
    )
)]
pub async fn replay(
    State(console): State<Console>,
    body: Result<Json<ActionBody>, JsonRejection>,
) -> Result<Json<ActionAnswer>, ConsoleError> {
    act(console, body, Act::Replay).await
}

/// Removes letters for good, or with `dry_run` counts them.
#[utoipa::path(
    post,
    path = "/api/v1/dead-letters/purge",
    operation_id = "purge_dead_letters",
    tag = "dead-letters",
    request_body = ActionBody,
    responses(
        (status = 200, description = "Purged, or counted", body = ActionAnswer),
        (status = 400, description = "Not this route's JSON, or no target", body = ErrorBody),
    )
)]
pub async fn purge(
    State(console): State<Console>,
    body: Result<Json<ActionBody>, JsonRejection>,
) -> Result<Json<ActionAnswer>, ConsoleError> {
    act(console, body, Act::Purge).await
}
