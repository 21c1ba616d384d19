//! Signing in and out: `GET|POST /login`, `POST /logout`.

use axum::{
    Extension,
    extract::{Query, Request, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use sluice_console_pages::{
    login::{LoginError, LoginView, render_login},
    paths,
};

use crate::{
    auth::{self, Auth, Session},
    error::ConsoleError,
};

/// The sign-in form is one field; anything larger is not a sign-in.
const FORM_LIMIT: usize = 4 * 1024;

#[derive(Deserialize)]
pub struct LoginQuery {
    /// Set by the guard when a cookie named no live session.
    #[serde(default)]
    expired: Option<String>,
}

pub async fn form(Query(q): Query<LoginQuery>) -> Response {
    let error = q.expired.map(|_| LoginError::SessionExpired);
    page(StatusCode::OK, error)
}

fn page(status: StatusCode, error: Option<LoginError>) -> Response {
    (
        status,
        Html(render_login(&LoginView { error }).into_string()),
    )
        .into_response()
}

/// Checks the token of the form; on success a new session and its cookie, and on to the lanes.
pub async fn submit(State(auth): State<Auth>, req: Request) -> Response {
    let client = auth::client(&req);
    let token = match axum::body::to_bytes(req.into_body(), FORM_LIMIT).await {
        Ok(body) => token_field(&body),
        Err(_) => None,
    };
    match auth.limiter.blocked(client).await {
        Err(e) => return ConsoleError::from(e).into_response(),
        Ok(true) => {
            return page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(LoginError::TooManyAttempts),
            );
        }
        Ok(false) => {}
    }
    if !token.is_some_and(|t| auth.tokens.accepts(&t)) {
        if let Err(e) = auth.limiter.failed(client).await {
            return ConsoleError::from(e).into_response();
        }
        return page(StatusCode::UNAUTHORIZED, Some(LoginError::BadToken));
    }
    match auth.sessions.create().await {
        Err(e) => ConsoleError::from(e).into_response(),
        Ok(session) => (
            [(header::SET_COOKIE, auth.cookie(&session))],
            Redirect::to(paths::LANES),
        )
            .into_response(),
    }
}

fn token_field(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == paths::TOKEN_FIELD)
        .map(|(_, v)| v)
}

/// Ends the session (the guard has checked the CSRF field) and clears the cookie.
pub async fn logout(State(auth): State<Auth>, Extension(session): Extension<Session>) -> Response {
    if let Err(e) = auth.sessions.end(&session).await {
        return ConsoleError::from(e).into_response();
    }
    (
        [(header::SET_COOKIE, auth.cleared_cookie())],
        Redirect::to(paths::LOGIN),
    )
        .into_response()
}
