//! The bots and sources page (`GET /bots`) and its forms. A change answers with the page itself
//! and a flash line; an add or a rotation puts its new secret on that answer only (never behind
//! a redirect, never stored), under the router's `Cache-Control: no-store`.

use axum::{
    Extension, Form,
    extract::{Query, State},
    http::StatusCode,
    response::{Html, IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;
use sluice_console_pages::{
    Flash, FlashKind, PageContext,
    bots::{
        self as page, AddBotForm, AddSourceForm, BotRow, BotsView, LimitsForm, NameForm,
        OneTimeSecret, SourceRow, Subject,
    },
    layout::CsrfToken,
};
use sluice_shared::{lanes::Lane, secret::Secret};

use crate::{
    Console, auth::Session, error::ConsoleError, routes::bots::BOTH, service::bots as service,
};

/// `?remove_bot=NAME` / `?remove_source=NAME`: the confirmation box.
#[derive(Debug, Default, Deserialize)]
pub struct RemoveQuery {
    remove_bot: Option<String>,
    remove_source: Option<String>,
}

/// What a change leaves on the page it answers with.
struct Outcome {
    status: StatusCode,
    flash: Option<Flash>,
    secret: Option<OneTimeSecret>,
    confirm: Option<Subject>,
}

impl Outcome {
    fn done(text: String, secret: Option<OneTimeSecret>) -> Outcome {
        let flash = Flash {
            kind: FlashKind::Success,
            text,
        };
        Outcome {
            status: StatusCode::OK,
            flash: Some(flash),
            secret,
            confirm: None,
        }
    }
}

pub async fn page(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Query(q): Query<RemoveQuery>,
) -> Result<Response, ConsoleError> {
    let confirm = match q {
        RemoveQuery {
            remove_bot: Some(n),
            ..
        } => Some(Subject::Bot(n)),
        RemoveQuery {
            remove_source: Some(n),
            ..
        } => Some(Subject::Source(n)),
        _ => None,
    };
    let outcome = Outcome {
        status: StatusCode::OK,
        flash: None,
        secret: None,
        confirm,
    };
    render(&c, &session, outcome).await
}

/// The page after a change: done, with its flash (and secret), or refused, with the reason.
async fn answer(
    c: &Console,
    session: &Session,
    done: Result<Outcome, ConsoleError>,
) -> Result<Response, ConsoleError> {
    let outcome = match done {
        Ok(outcome) => outcome,
        // The page cannot be read either: the error's own answer.
        Err(e @ ConsoleError::Unavailable(_)) => return Err(e),
        Err(e) => Outcome {
            status: e.status(),
            flash: Some(Flash {
                kind: FlashKind::Error,
                text: e.to_string(),
            }),
            secret: None,
            confirm: None,
        },
    };
    render(c, session, outcome).await
}

async fn render(c: &Console, session: &Session, o: Outcome) -> Result<Response, ConsoleError> {
    let bots = service::list_bots(&c.db).await?;
    let sources = service::list_sources(&c.db, &c.keys).await?;
    let view = BotsView {
        bots: bots.into_iter().map(bot_row).collect(),
        sources: sources
            .into_iter()
            .map(|(s, created_at)| SourceRow {
                name: s.name,
                scheme: s.scheme.to_owned(),
                lane: s.lane,
                tolerance: std::time::Duration::from_secs(s.tolerance_s),
                rotating: s.next_secret_pending,
                created_at,
            })
            .collect(),
        confirm_remove: o.confirm,
        lanes: Lane::ALL.iter().map(|l| l.as_str().to_owned()).collect(),
    };
    let ctx = PageContext {
        csrf: CsrfToken::new(session.csrf.clone()),
        flash: o.flash,
        now: Utc::now(),
    };
    let html = page::render_bots(&ctx, &view, o.secret).into_string();
    Ok((o.status, Html(html)).into_response())
}

/// A bot's limits are shown as a pair; one set alone (by the CLI) shows as the defaults'
/// placeholders, and the form sets both or neither.
fn bot_row(b: sluice_shared::registry::bots::Listed) -> BotRow {
    let limits = match (b.rate_per_sec, b.burst.and_then(|b| u32::try_from(b).ok())) {
        (Some(rate_per_sec), Some(burst)) => Some(page::Limits {
            rate_per_sec,
            burst,
        }),
        _ => None,
    };
    BotRow {
        name: b.name,
        limits,
        has_token: b.has_token,
        created_at: b.created_at,
        updated_at: b.updated_at,
    }
}

fn one_time(subject: Subject, secret: &Secret) -> Option<OneTimeSecret> {
    Some(OneTimeSecret::new(subject, secret.expose().to_owned()))
}

pub async fn add_bot(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Form(f): Form<AddBotForm>,
) -> Result<Response, ConsoleError> {
    let token = Some(f.token.trim())
        .filter(|t| !t.is_empty())
        .map(Secret::unchecked);
    let done = service::add_bot(&c.db, &c.keys, &f.name, token)
        .await
        .map(|s| {
            let secret = one_time(Subject::Bot(f.name.clone()), &s);
            Outcome::done(format!("Added bot {}.", f.name), secret)
        });
    answer(&c, &session, done).await
}

pub async fn rotate_bot(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Form(f): Form<NameForm>,
) -> Result<Response, ConsoleError> {
    let done = service::rotate_bot(&c.db, &c.keys, &f.name).await.map(|s| {
        let secret = one_time(Subject::Bot(f.name.clone()), &s);
        Outcome::done(format!("New secret for bot {}.", f.name), secret)
    });
    answer(&c, &session, done).await
}

pub async fn bot_limits(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Form(f): Form<LimitsForm>,
) -> Result<Response, ConsoleError> {
    let done = async {
        let limits = parse_limits(&f)?;
        service::set_bot_limits(&c.db, &c.keys, &f.name, limits).await?;
        let text = match limits {
            Some((rate, burst)) => format!("Bot {}: {rate}/s, burst {burst}.", f.name),
            None => format!("Bot {}: default limits.", f.name),
        };
        Ok(Outcome::done(text, None))
    };
    answer(&c, &session, done.await).await
}

/// The form's two fields: both numbers, or both blank for the defaults.
fn parse_limits(f: &LimitsForm) -> Result<Option<(f64, u32)>, ConsoleError> {
    let bad = || ConsoleError::BadRequest(BOTH.into());
    match (f.rate_per_sec.trim(), f.burst.trim()) {
        ("", "") => Ok(None),
        ("", _) | (_, "") => Err(bad()),
        (rate, burst) => {
            let rate = rate.parse().map_err(|_| bad())?;
            let burst = burst.parse().map_err(|_| bad())?;
            Ok(Some((rate, burst)))
        }
    }
}

pub async fn remove_bot(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Form(f): Form<NameForm>,
) -> Result<Response, ConsoleError> {
    let done = service::remove_bot(&c.db, &f.name)
        .await
        .map(|()| Outcome::done(format!("Removed bot {}.", f.name), None));
    answer(&c, &session, done).await
}

pub async fn add_source(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Form(f): Form<AddSourceForm>,
) -> Result<Response, ConsoleError> {
    let done = service::add_source(&c.db, &c.keys, &f.name, &f.scheme, &f.lane)
        .await
        .map(|s| {
            let secret = one_time(Subject::Source(f.name.clone()), &s);
            Outcome::done(format!("Added source {}.", f.name), secret)
        });
    answer(&c, &session, done).await
}

pub async fn rotate_source(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Form(f): Form<NameForm>,
) -> Result<Response, ConsoleError> {
    let done = service::rotate_source(&c.db, &c.keys, &f.name)
        .await
        .map(|s| {
            let secret = one_time(Subject::Source(f.name.clone()), &s);
            Outcome::done(format!("New secret for source {}.", f.name), secret)
        });
    answer(&c, &session, done).await
}

pub async fn remove_source(
    State(c): State<Console>,
    Extension(session): Extension<Session>,
    Form(f): Form<NameForm>,
) -> Result<Response, ConsoleError> {
    let done = service::remove_source(&c.db, &f.name)
        .await
        .map(|()| Outcome::done(format!("Removed source {}.", f.name), None));
    answer(&c, &session, done).await
}
