//! The dead letters' pages: the list with its filter (`GET /dead-letters`), one letter
//! (`GET /dead-letters/{id}`), the confirmation that counts (`GET /dead-letters/confirm`) and the
//! confirmed action (`POST /dead-letters/replay|purge`), which goes back to the list with a flash.

use axum::{
    Extension, Form,
    extract::{Path, Query, State, rejection::FormRejection, rejection::QueryRejection},
    response::{Html, IntoResponse, Redirect, Response},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sluice_console_pages::{
    Flash, FlashKind, PageContext,
    dead_letter::{self as one, Attempt, ConfirmView, DeadLetterView},
    dead_letters::{self as list, DeadLetterRow, DeadLettersView, Origin},
    layout::CsrfToken,
    paths::{self, with_query},
    query::{Action, ConfirmQuery, DeadLetterFilter, DeadLettersQuery},
};
use sluice_shared::{
    dlq::{Cursor, DeadLetter, Target},
    job,
    lanes::Lane,
};

use crate::{
    Console,
    auth::Session,
    error::ConsoleError,
    service::dead_letters::{
        PAGE,
        filter::{FilterFields, form_time, page_target},
    },
};

/// Earlier attempts listed on a letter's page: only the last error is stored, so the others
/// are rows without one, and a long history is not worth a long table.
const EARLIER_SHOWN: u32 = 20;

fn ctx(session: &Session, flash: Option<Flash>) -> PageContext {
    PageContext {
        csrf: CsrfToken::new(session.csrf.clone()),
        flash,
        now: Utc::now(),
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn origin(job: &job::Job) -> Origin {
    match &job.origin {
        job::Origin::Telegram { bot, update_id, .. } => Origin::Bot {
            name: bot.clone(),
            update_id: *update_id,
        },
        job::Origin::Signed { source, key, .. } => Origin::Source {
            name: source.clone(),
            key: key.clone(),
        },
    }
}

fn row(l: &DeadLetter) -> DeadLetterRow {
    DeadLetterRow {
        id: l.id.clone(),
        lane: l.lane().to_string(),
        origin: origin(&l.envelope),
        kind: l.envelope.kind.clone(),
        reason: l.reason.clone(),
        attempts: l.envelope.attempt.saturating_add(1),
        dead_at: at(l.dead_at_ms),
    }
}

/// What the list's URL says after an action: which, and how it went.
#[derive(Deserialize, Serialize)]
pub struct DoneParams {
    done: Option<Action>,
    n: Option<u64>,
    not_found: Option<u64>,
}

impl DoneParams {
    /// Fixed text around two numbers: a crafted link can say nothing else.
    fn flash(&self) -> Option<Flash> {
        let verb = match self.done? {
            Action::Replay => "Replayed",
            Action::Purge => "Purged",
        };
        let n = self.n.unwrap_or(0);
        let mut text = format!("{verb} {n} dead letter{}.", if n == 1 { "" } else { "s" });
        if let Some(gone) = self.not_found.filter(|g| *g > 0) {
            text.push_str(&format!(" {gone} had already gone."));
        }
        Some(Flash {
            kind: FlashKind::Success,
            text,
        })
    }
}

fn bad_query(e: QueryRejection) -> ConsoleError {
    ConsoleError::BadRequest(e.body_text())
}

pub async fn list(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    query: Result<Query<DeadLettersQuery>, QueryRejection>,
    done: Result<Query<DoneParams>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let Query(query) = query.map_err(bad_query)?;
    let Query(done) = done.map_err(bad_query)?;
    let filter = FilterFields::from(&query.filter).filter()?;
    let cursor = query.cursor.as_deref().map(str::parse::<Cursor>);
    let cursor = cursor.transpose()?;
    let desk = &console.dead_letters;
    let page = desk.list(&filter, cursor.as_ref(), PAGE).await?;
    let view = DeadLettersView {
        lanes: Lane::ALL.iter().map(|l| l.to_string()).collect(),
        rows: page.letters.iter().map(row).collect(),
        next_cursor: page.next.as_ref().map(Cursor::to_string),
        matching: desk.matching(&filter).await?,
        query,
    };
    let html = list::render_dead_letters(&ctx(&session, done.flash()), &view);
    Ok(Html(html.into_string()).into_response())
}

pub async fn letter(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let l = console
        .dead_letters
        .get(&id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let failed = l.envelope.attempt;
    let mut attempts: Vec<Attempt> = (1..=failed.min(EARLIER_SHOWN))
        .map(|number| Attempt {
            number,
            at: None,
            error: "failed (only the last attempt's error is kept)".to_owned(),
        })
        .collect();
    attempts.push(Attempt {
        number: failed.saturating_add(1),
        at: Some(at(l.dead_at_ms)),
        error: l.reason.clone(),
    });
    let view = DeadLetterView {
        id: l.id.clone(),
        lane: l.lane().to_string(),
        origin: origin(&l.envelope),
        kind: l.envelope.kind.clone(),
        reason: l.reason.clone(),
        received_at: at(l.envelope.received_at_ms),
        dead_at: at(l.dead_at_ms),
        payload: l.envelope.payload.get().to_owned(),
        attempts,
    };
    let html = one::render_dead_letter(&ctx(&session, None), &view);
    Ok(Html(html.into_string()).into_response())
}

/// The dry run. A filter's end is pinned to now here and travels in the form, so the action
/// takes no letter that died after this count.
pub async fn confirm(
    State(console): State<Console>,
    Extension(session): Extension<Session>,
    query: Result<Query<ConfirmQuery>, QueryRejection>,
) -> Result<Response, ConsoleError> {
    let Query(mut q) = query.map_err(bad_query)?;
    let now = Utc::now();
    if q.id.is_none() {
        let asked = FilterFields::from(&q.filter).filter()?.until_ms;
        if asked.is_none_or(|u| u > now.timestamp_millis()) {
            q.filter.until = Some(form_time(now));
        }
    }
    let target = page_target(q.id.clone(), &q.filter, now.timestamp_millis())?;
    let count = console.dead_letters.count(&target).await?;
    // Filtered by reason the count may stop early; the action itself takes every match.
    let flash = (!count.exact).then(|| Flash {
        kind: FlashKind::Info,
        text: format!(
            "At least {} match: counting stopped after examining {} letters.",
            count.matching, count.scanned
        ),
    });
    let view = ConfirmView {
        query: q,
        count: count.matching,
    };
    let html = one::render_confirm(&ctx(&session, flash), &view);
    Ok(Html(html.into_string()).into_response())
}

/// The confirmed form: the letter's id or the (pinned) filter; the CSRF field was checked by
/// the guard.
#[derive(Deserialize)]
pub struct ConfirmedForm {
    #[serde(default)]
    id: Option<String>,
    #[serde(flatten)]
    filter: DeadLetterFilter,
}

async fn act(
    console: &Console,
    form: Result<Form<ConfirmedForm>, FormRejection>,
    action: Action,
) -> Result<Response, ConsoleError> {
    let Form(f) = form.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let target: Target = page_target(f.id, &f.filter, Utc::now().timestamp_millis())?;
    let desk = &console.dead_letters;
    let done = match action {
        Action::Replay => desk.replay(&target).await?,
        Action::Purge => desk.purge(&target).await?,
    };
    let params = DoneParams {
        done: Some(action),
        n: Some(done.done),
        not_found: Some(done.not_found),
    };
    Ok(Redirect::to(&with_query(paths::DEAD_LETTERS, &params)).into_response())
}

pub async fn replay(
    State(console): State<Console>,
    form: Result<Form<ConfirmedForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    act(&console, form, Action::Replay).await
}

pub async fn purge(
    State(console): State<Console>,
    form: Result<Form<ConfirmedForm>, FormRejection>,
) -> Result<Response, ConsoleError> {
    act(&console, form, Action::Purge).await
}
