//! The Bot API proxy: `sluice-worker run` with `SLUICE_BOTAPI_PROXY_ADDR` set also serves
//! `/bot<token>/<method>` and `/file/bot<token>/<path>`, so a framework's own calls pass the
//! same shared limiter and 429 freeze as the handlers' (`BotApi::call_through`).
//!
//! It runs inside the worker process, not as a subcommand of its own: the worker already holds
//! everything a call needs (the `BotApi` with its HTTP pool and Redis limiter, Postgres, the
//! keyring), a bot's framework usually lives next to the workers that forward to it, and one
//! Deployment less is one thing less to size and secure. A proxy that must scale apart from the
//! queue drains can still be a worker Deployment with `SLUICE_WORKER_CONCURRENCY=1`.
//!
//! Only registered tokens are served: the token is looked up by its SHA-256 in the
//! [`TokenIndex`]; an unknown one gets Telegram's own 401 without any request leaving. The call
//! goes upstream with the token the client presented, never with another one. Paths reach logs
//! only redacted ([`path::redacted`]); log lines name the bot.
//!
//! # Layout
//! - this file: the state, the router, one request start to finish.
//! - [`config`]: the `SLUICE_BOTAPI_PROXY_*` settings.
//! - [`path`]: the routes, bounded; redaction.
//! - [`body`]: a request's body as [`sluice_botapi::Params::Raw`] (uploads streamed).
//! - [`refusal`]: the proxy's own answers, in Telegram's shape.

pub mod body;
pub mod config;
pub mod path;
pub mod refusal;

use std::{future::Future, sync::Arc, time::Instant};

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{Method, StatusCode, header},
    response::{IntoResponse, Response},
};
use futures::TryStreamExt;
use sluice_botapi::{BotApi, TokenIndex};
use sluice_shared::serve::ServeConfig;
use tokio::net::TcpListener;

use self::{config::ProxyConfig, path::Route, refusal::Refusal};

/// What the proxy's requests share (cheap to clone).
#[derive(Clone)]
pub struct Proxy {
    api: BotApi,
    index: Arc<TokenIndex>,
    cfg: ProxyConfig,
}

impl Proxy {
    pub fn new(api: BotApi, index: TokenIndex, cfg: ProxyConfig) -> Proxy {
        Proxy {
            api,
            index: Arc::new(index),
            cfg,
        }
    }
}

/// Every path goes to one handler: the routes are bounded by hand in [`path`] before any
/// router pattern could capture a token.
pub fn router(proxy: Proxy) -> Router {
    Router::new().fallback(handle).with_state(proxy)
}

/// Serves the proxy on `listener` until `shutdown`, with the listeners' timers and cap.
pub async fn serve(
    listener: TcpListener,
    proxy: Proxy,
    cfg: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sluice_shared::serve::serve(listener, router(proxy), cfg, shutdown).await
}

async fn handle(State(proxy): State<Proxy>, request: Request) -> Response {
    let started = Instant::now();
    let path = request.uri().path().to_owned();
    let response = match answer(&proxy, request).await {
        Ok(response) => response,
        Err(refusal) => {
            tracing::debug!(path = %path::redacted(&path), reason = refusal.reason(),
                "Bot API proxy refused a request");
            refusal.into_response()
        }
    };
    tracing::debug!(path = %path::redacted(&path), status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64, "Bot API proxy request");
    response
}

async fn answer(proxy: &Proxy, request: Request) -> Result<Response, Refusal> {
    let get = match *request.method() {
        Method::GET => true,
        Method::POST => false,
        _ => return Err(Refusal::MethodNotAllowed),
    };
    let path = request.uri().path().to_owned();
    let route = path::route(&path).ok_or(Refusal::NotFound)?;
    let token = match &route {
        Route::Call { token, .. } | Route::File { token, .. } => *token,
    };
    let bot = proxy
        .index
        .bot(token)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "Bot API proxy: the token index cannot be read");
            Refusal::Unavailable
        })?
        .ok_or(Refusal::UnknownToken)?;
    match route {
        Route::Call { token, method } => call(proxy, &bot, token, method, get, request).await,
        Route::File { .. } if !get => Err(Refusal::MethodNotAllowed),
        Route::File { token, path } => Ok(download(proxy, &bot, token, path).await),
    }
}

async fn call(
    proxy: &Proxy,
    bot: &str,
    token: &str,
    method: &str,
    get: bool,
    request: Request,
) -> Result<Response, Refusal> {
    let max = proxy.cfg.proxy_max_body;
    if request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n > max)
    {
        return Err(Refusal::TooLarge);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| Refusal::BadRequest("unreadable Content-Type"))?;
    let query = request.uri().query().map(str::to_owned);
    let body = request.into_body();
    let (params, limit) = body::params(
        method,
        content_type.as_deref(),
        query.as_deref(),
        get,
        body,
        max,
    )
    .await?;
    let sent = proxy
        .api
        .call_through(bot, token, method, params, proxy.cfg.proxy_max_wait)
        .await;
    Ok(match sent {
        Ok(received) => {
            let status = StatusCode::from_u16(received.status).unwrap_or(StatusCode::BAD_GATEWAY);
            (
                status,
                [(header::CONTENT_TYPE, "application/json")],
                received.body,
            )
                .into_response()
        }
        // An upload cut at the bound fails upstream as a network error: say why instead.
        Err(_) if limit.exceeded() => return Err(Refusal::TooLarge),
        Err(e) => {
            tracing::debug!(bot, method = sluice_botapi::methods::label(method), error = %e,
                "Bot API proxy call not sent");
            refusal::not_sent(&e)
        }
    })
}

/// A file download, streamed back with Telegram's status and the headers that describe it.
async fn download(proxy: &Proxy, bot: &str, token: &str, path: &str) -> Response {
    match proxy.api.download(token, path).await {
        Ok(upstream) => {
            let status =
                StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let mut response = Response::builder().status(status);
            for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH] {
                if let Some(v) = upstream.headers().get(name.as_str()) {
                    response = response.header(name, v.as_bytes());
                }
            }
            let stream = upstream
                .bytes_stream()
                .map_err(|e| std::io::Error::other(e.without_url()));
            response
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => {
            tracing::debug!(bot, error = %e, "Bot API proxy download failed");
            refusal::not_sent(&e)
        }
    }
}
