//! The stand-in console for the page-rendering test: a small axum router that serves the
//! rendered pages from fixture view models, with the pages' CSP and the embedded assets. No auth,
//! no Redis: the real console (crate `console`) wires the same render functions to its services.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use axum::{
    Form, Router,
    extract::{Path, Query, State},
    http::{StatusCode, Uri, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use sluice_console_pages::{
    assets,
    bots::{NameForm, OneTimeSecret, Subject, render_bots},
    dead_letter::{ConfirmView, render_confirm, render_dead_letter},
    dead_letters::render_dead_letters,
    lanes::{render_lanes, render_lanes_live},
    layout::CONTENT_SECURITY_POLICY,
    login::{LoginError, LoginView, render_login},
    paths,
    query::{ConfirmQuery, DeadLettersQuery},
    workers::render_workers,
};

use crate::fixtures::{self, CSRF, ctx};

pub const FIXTURE_TOKEN: &str = "fixture-token";
/// What the stand-in rotation answers; fixed, so the screenshot is the same from run to run.
pub const ROTATED_SECRET: &str = "rotated-Q7mZ2xKc9TfLw4Hn8VbR";

/// How many times the live fragment was served: the high lane's pending count follows it.
#[derive(Clone, Default)]
pub struct Polls(Arc<AtomicU64>);

fn page(markup: maud::Markup) -> Response {
    (
        [
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::CACHE_CONTROL, "no-store"),
        ],
        axum::response::Html(markup.into_string()),
    )
        .into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    token: String,
}

#[derive(Deserialize)]
struct RemoveQuery {
    remove_bot: Option<String>,
}

#[derive(Deserialize)]
struct RotateForm {
    #[serde(flatten)]
    name: NameForm,
    csrf_token: String,
}

pub fn router(polls: Polls) -> Router {
    Router::new()
        .route(
            paths::LOGIN,
            get(|| async { page(render_login(&LoginView::default())) }),
        )
        .route(
            paths::LOGIN,
            post(|Form(f): Form<LoginForm>| async move {
                if f.token == FIXTURE_TOKEN {
                    Redirect::to(paths::LANES).into_response()
                } else {
                    let view = LoginView {
                        error: Some(LoginError::BadToken),
                    };
                    (StatusCode::UNAUTHORIZED, page(render_login(&view))).into_response()
                }
            }),
        )
        .route(
            paths::LANES,
            get(|State(p): State<Polls>| async move {
                page(render_lanes(
                    &ctx(),
                    &fixtures::lanes(p.0.load(Ordering::SeqCst)),
                ))
            }),
        )
        .route(
            paths::LANES_LIVE,
            get(|State(p): State<Polls>| async move {
                let n = p.0.fetch_add(1, Ordering::SeqCst) + 1;
                page(render_lanes_live(&fixtures::lanes(n)))
            }),
        )
        .route(
            paths::DEAD_LETTERS,
            get(|Query(q): Query<DeadLettersQuery>| async move {
                page(render_dead_letters(&ctx(), &fixtures::dead_letters(q)))
            }),
        )
        .route(
            paths::DEAD_LETTERS_CONFIRM,
            get(|Query(q): Query<ConfirmQuery>| async move {
                page(render_confirm(&ctx(), &ConfirmView { query: q, count: 1 }))
            }),
        )
        .route(
            "/dead-letters/{id}",
            get(|Path(id): Path<String>| async move {
                let mut view = fixtures::dead_letter();
                view.id = id;
                page(render_dead_letter(&ctx(), &view))
            }),
        )
        .route(
            paths::BOTS,
            get(|Query(q): Query<RemoveQuery>| async move {
                let mut view = fixtures::bots();
                view.confirm_remove = q.remove_bot.map(Subject::Bot);
                page(render_bots(&ctx(), &view, None))
            }),
        )
        .route(
            paths::BOTS_ROTATE,
            post(|Form(f): Form<RotateForm>| async move {
                if f.csrf_token != CSRF {
                    return StatusCode::FORBIDDEN.into_response();
                }
                let secret =
                    OneTimeSecret::new(Subject::Bot(f.name.name), ROTATED_SECRET.to_owned());
                page(render_bots(
                    &fixtures::ctx_with_flash("Secret rotated."),
                    &fixtures::bots(),
                    Some(secret),
                ))
            }),
        )
        .route(
            paths::WORKERS,
            get(|| async { page(render_workers(&ctx(), &fixtures::workers())) }),
        )
        .fallback(|uri: Uri| async move {
            match assets::lookup(uri.path()) {
                Some(a) => (a.headers().map(|(k, v)| (k, v.to_owned())), a.body).into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        })
        .with_state(polls)
}
