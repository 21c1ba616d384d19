//! sluice-botapi: calls Telegram's Bot API for a bot under limits shared by every worker.
//!
//! ```no_run
//! # async fn reply(api: &sluice_botapi::BotApi) -> Result<(), sluice_botapi::BotApiError> {
//! // Typed helpers for the common methods...
//! api.send_message("shop_bot", 123456789, "Welcome!").await?;
//! // ...and any method by name, with Telegram's answer back.
//! let params = sluice_botapi::Params::json(serde_json::json!({"chat_id": 1, "text": "hi"}))?;
//! let message = api.call("shop_bot", "sendMessage", params).await?;
//! # Ok(()) }
//! ```
//!
//! Every call of a method that sends a message waits for its turn under the bot's, the chat's
//! and the group's limits (or the paid-broadcast budget), decided in Redis for all workers at
//! once; a 429 freezes the bot on every worker for its `retry_after`. Answers to callback and
//! inline queries pass no limiter ([`methods`]). 5xx and network failures are retried with
//! backoff; Telegram's refusals (400, 403, 404) are returned at once as typed errors.
//!
//! # Layout
//! - this file: [`BotApi`], cheap to clone, and its constructor.
//! - [`client`]: one call start to finish: limiter, attempts, freeze, metrics; the proxy's
//!   pass-through call and file downloads.
//! - [`helpers`]: `send_message`, `answer_callback_query`, `edit_message_text`, `send_photo`.
//! - [`limiter`]: the GCRA buckets and the freeze in Redis (`limiter/*.lua`).
//! - [`methods`]: which method counts against which limit.
//! - [`params`], [`multipart`]: a call's parameters (JSON, or multipart with streamed files).
//! - [`answer`]: Telegram's answer, read with a size bound.
//! - [`tokens`]: bots' tokens, opened from `bots.token_sealed` and cached for a bounded time.
//! - [`token_index`]: the other way round, for the Bot API proxy: which bot a token is.
//! - [`config`]: every setting (`SLUICE_TELEGRAM_API_URL`, `SLUICE_BOTAPI_*`), parsed once.
//! - [`error`]: the typed errors ([`BotApiError`]).

pub mod answer;
pub mod client;
pub mod config;
pub mod error;
pub mod helpers;
pub mod limiter;
pub mod methods;
pub mod multipart;
pub mod params;
pub mod token_index;
pub mod tokens;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::aio::ConnectionManager;

pub use answer::{Answer, Failure};
pub use client::{Received, Via};
pub use config::BotApiConfig;
pub use error::BotApiError;
pub use helpers::{Message, Photo};
pub use params::{Chat, FileBody, FilePart, Multipart, Params, Raw, RawBody};
pub use token_index::TokenIndex;
pub use tokens::Tokens;

use limiter::Limiter;

/// The Bot API client of one process: clone it freely (one HTTP pool, one Redis connection).
#[derive(Clone)]
pub struct BotApi {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// `SLUICE_TELEGRAM_API_URL` without a trailing slash: `/bot<token>/<method>` follows.
    base: String,
    limiter: Limiter,
    tokens: Tokens,
    max_wait: Duration,
    timeout: Duration,
    attempts: u32,
    retry_after_max: Duration,
    max_response_bytes: usize,
    /// Until when this process knows each bot to be frozen (the `sluice_botapi_frozen` gauge).
    frozen_until: Mutex<HashMap<String, Instant>>,
}

impl BotApi {
    /// The client for `cfg`, its limiter on `redis` under the key prefix `prefix` (the queue
    /// prefix: one deployment, one set of limits).
    pub fn new(
        cfg: &BotApiConfig,
        redis: ConnectionManager,
        prefix: &str,
        tokens: Tokens,
    ) -> Result<BotApi, String> {
        sluice_shared::tls::install_provider();
        let http = reqwest::Client::builder()
            .user_agent(concat!("sluice/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            // A redirect would carry the token in its path to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("building the Bot API's HTTP client: {e}"))?;
        Ok(BotApi {
            inner: Arc::new(Inner {
                http,
                base: cfg.api_url.as_str().trim_end_matches('/').to_owned(),
                limiter: Limiter::new(redis, prefix, cfg.limits()),
                tokens,
                max_wait: cfg.max_wait,
                timeout: cfg.timeout,
                attempts: cfg.attempts,
                retry_after_max: cfg.retry_after_max,
                max_response_bytes: cfg.max_response_bytes as usize,
                frozen_until: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The shared limiter, for tests and tools that look at it directly.
    pub fn limiter(&self) -> &Limiter {
        &self.inner.limiter
    }

    /// Loads the limiter's scripts into Redis ahead of the first call (best effort).
    pub async fn warm_up(&self) {
        self.inner.limiter.warm_up().await;
    }
}
