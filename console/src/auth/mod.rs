//! Who may use the console: a bearer token (its SHA-256 configured) for the JSON API, a session
//! cookie for browsers, a CSRF token for every change a browser makes, and a limit on failed
//! sign-ins.
//!
//! # Layout
//! - this file: [`Auth`], the cookie, and the two guards (API and pages) the router wraps its
//!   routes in.
//! - [`session`]: sessions in Redis.
//! - [`limit`]: failed sign-ins per client per minute.
//! - [`csrf`]: the token check on mutating requests.

pub mod csrf;
pub mod limit;
pub mod session;

use std::{net::IpAddr, net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use sluice_console_pages::paths;

use crate::{
    config::{ConsoleConfig, TokenHashes},
    error::ConsoleError,
};
pub use limit::LoginLimiter;
pub use session::{Session, Sessions, StoreError};

/// The session cookie's name.
pub const COOKIE: &str = "sluice_console";

/// Everything the guards and the sign-in handlers share.
#[derive(Clone)]
pub struct Auth {
    pub tokens: Arc<TokenHashes>,
    pub sessions: Sessions,
    pub limiter: LoginLimiter,
    /// `Secure` on the cookie (`SLUICE_CONSOLE_SECURE_COOKIE`).
    pub secure_cookie: bool,
}

impl Auth {
    pub fn new(
        cfg: &ConsoleConfig,
        tokens: TokenHashes,
        redis: redis::aio::ConnectionManager,
        prefix: &str,
    ) -> Auth {
        Auth {
            tokens: Arc::new(tokens),
            sessions: Sessions::new(redis.clone(), prefix, cfg.session_ttl),
            limiter: LoginLimiter::new(redis, prefix, cfg.login_attempts),
            secure_cookie: cfg.secure_cookie,
        }
    }

    /// `Set-Cookie` for a new session: script-proof, same-site only, expiring with the session.
    pub fn cookie(&self, session: &Session) -> HeaderValue {
        self.cookie_value(session.id(), self.sessions.ttl().as_secs())
    }

    /// `Set-Cookie` that removes the cookie (sign-out).
    pub fn cleared_cookie(&self) -> HeaderValue {
        self.cookie_value("", 0)
    }

    fn cookie_value(&self, id: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure_cookie { "; Secure" } else { "" };
        let v =
            format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}");
        HeaderValue::from_str(&v).expect("hex id and fixed attributes make a valid header")
    }

    /// The live session the request's cookie names, if any; `Err` when Redis failed.
    pub async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, StoreError> {
        match cookie(headers) {
            Some(id) => self.sessions.find(id).await,
            None => Ok(None),
        }
    }
}

/// The session cookie's value, if the request carries one.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// The client's address (the peer; the console is not meant to sit behind a proxy).
pub fn client(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Methods that change something and so need the CSRF token when a cookie authenticates them.
pub fn mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The guard of `/api/v1`: a bearer token, or a session cookie plus (for a change) the
/// `X-CSRF-Token` header. Everything else is a 401 JSON answer.
pub async fn api_guard(State(auth): State<Auth>, mut req: Request, next: Next) -> Response {
    if let Some(token) = bearer(req.headers()) {
        let client = client(&req);
        return match auth.limiter.blocked(client).await {
            Err(e) => ConsoleError::from(e).into_response(),
            Ok(true) => ConsoleError::TooManyAttempts.into_response(),
            Ok(false) if auth.tokens.accepts(token) => next.run(req).await,
            Ok(false) => match auth.limiter.failed(client).await {
                Err(e) => ConsoleError::from(e).into_response(),
                Ok(()) => ConsoleError::Unauthorized.into_response(),
            },
        };
    }
    let session = match auth.session(req.headers()).await {
        Err(e) => return ConsoleError::from(e).into_response(),
        Ok(None) => return ConsoleError::Unauthorized.into_response(),
        Ok(Some(s)) => s,
    };
    if mutating(req.method()) && !csrf::header_matches(req.headers(), &session) {
        return ConsoleError::Csrf.into_response();
    }
    req.extensions_mut().insert(session);
    next.run(req).await
}

/// The guard of every page but sign-in and the assets: a live session, and for a change the
/// CSRF field of the form. Without a session a browser is sent to the sign-in page (htmx with
/// `HX-Redirect`, or the sign-in page would be swapped into the live block).
pub async fn page_guard(State(auth): State<Auth>, req: Request, next: Next) -> Response {
    let presented = cookie(req.headers()).is_some();
    let session = match auth.session(req.headers()).await {
        Err(e) => return ConsoleError::from(e).into_response(),
        Ok(Some(s)) => s,
        Ok(None) => return to_login(req.headers(), presented),
    };
    let mut req = if mutating(req.method()) {
        match csrf::form_matches(req, &session).await {
            Ok(req) => req,
            Err(refused) => return refused,
        }
    } else {
        req
    };
    req.extensions_mut().insert(session);
    next.run(req).await
}

/// Where a browser without a session goes; a cookie that named no live session means the
/// session ended, and the sign-in page says so.
fn to_login(headers: &HeaderMap, expired: bool) -> Response {
    let target = if expired {
        format!("{}?expired=1", paths::LOGIN)
    } else {
        paths::LOGIN.to_owned()
    };
    if headers.contains_key("hx-request") {
        let hx = HeaderValue::from_str(&target).expect("a fixed path");
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            [(header::HeaderName::from_static("hx-redirect"), hx)],
        )
            .into_response();
    }
    Redirect::to(&target).into_response()
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    #[test]
    fn the_session_cookie_is_found_among_others_and_an_empty_one_is_none() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; sluice_console=abc; b=2".parse().unwrap());
        assert_eq!(super::cookie(&h), Some("abc"));
        h.insert("cookie", "sluice_console=".parse().unwrap());
        assert_eq!(super::cookie(&h), None);
        h.insert("cookie", "xsluice_console=abc".parse().unwrap());
        assert_eq!(super::cookie(&h), None);
    }

    #[test]
    fn only_a_bearer_scheme_gives_a_token() {
        let mut h = HeaderMap::new();
        h.insert("authorization", "Bearer tok".parse().unwrap());
        assert_eq!(super::bearer(&h), Some("tok"));
        h.insert("authorization", "bearer  tok ".parse().unwrap());
        assert_eq!(super::bearer(&h), Some("tok"));
        h.insert("authorization", "Basic dG9rOg==".parse().unwrap());
        assert_eq!(super::bearer(&h), None);
        h.insert("authorization", "Bearer ".parse().unwrap());
        assert_eq!(super::bearer(&h), None);
    }
}
