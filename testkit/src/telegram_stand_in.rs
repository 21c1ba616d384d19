//! A stand-in for Telegram's Bot API, for tests and load runs: a real HTTP server that serves
//! `/bot<token>/<method>` (JSON, form-urlencoded or multipart bodies), enforces Telegram's
//! published limits itself (answering 429 with `retry_after` as Telegram does), can be told to
//! inject an error, and records every call with its time, bot, chat, method and answer.
//!
//! It stands in for Telegram only: Redis and Postgres stay real. The binary
//! `telegram-stand-in` (testkit/src/bin) serves it for load runs.
//!
//! HTTP:
//! - `POST|GET /bot<token>/<method>`: the Bot API. The bot is the token's id (before `:`);
//!   messages answer a `Message`, `getMe` a bot `User` with that id, anything else `true`.
//! - `GET /_stand-in/calls`: the record, a JSON array of [`Call`].
//! - `GET /_stand-in/limits`: the limits it enforces ([`StandInLimits`], `slack_us` for the
//!   slack), so that a load run checks the record against what was enforced.
//! - `POST /_stand-in/inject` with an [`Injection`]: the bot's next calls answer that error.

mod body;
pub mod limits;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, State},
    http::{HeaderMap, StatusCode},
    routing::{get, post},
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use limits::StandInLimits;
use limits::{Buckets, is_message};

/// Calls kept in the record; later ones are answered but not recorded.
const MAX_RECORDED: usize = 2_000_000;

/// One call as the stand-in saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Call {
    /// When it arrived, in microseconds since the Unix epoch.
    pub at_us: u64,
    /// The bot's id (the token before `:`).
    pub bot: String,
    pub method: String,
    /// The `chat_id` parameter as sent.
    pub chat: Option<String>,
    /// The `text` parameter as sent (a message's text), so a test can tell whose reply it is.
    #[serde(default)]
    pub text: Option<String>,
    /// The HTTP status answered (200, 429, ...).
    pub status: u16,
    pub paid: bool,
}

/// An error the bot's next `count` calls get instead of being served.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Injection {
    pub bot: String,
    pub error_code: u16,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

struct Shared {
    limits: StandInLimits,
    buckets: Mutex<Buckets>,
    calls: Mutex<Vec<Call>>,
    injected: Mutex<HashMap<String, Injection>>,
}

/// A running stand-in on a port of its own.
pub struct TelegramStandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl TelegramStandIn {
    /// Starts one on 127.0.0.1 on a free port.
    pub async fn start(limits: StandInLimits) -> anyhow::Result<TelegramStandIn> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(limits));
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(TelegramStandIn { addr, shared, task })
    }

    /// The base URL to give as `SLUICE_TELEGRAM_API_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The record so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    pub fn inject(&self, injection: Injection) {
        self.shared.inject(injection);
    }
}

impl Drop for TelegramStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves a stand-in on `listener` until `shutdown` (the binary's entry point).
pub async fn serve(
    listener: tokio::net::TcpListener,
    limits: StandInLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(Arc::new(Shared::new(limits))))
        .with_graceful_shutdown(shutdown)
        .await
}

impl Shared {
    fn new(limits: StandInLimits) -> Shared {
        Shared {
            limits,
            buckets: Mutex::new(Buckets::default()),
            calls: Mutex::new(Vec::new()),
            injected: Mutex::new(HashMap::new()),
        }
    }

    fn inject(&self, injection: Injection) {
        self.injected
            .lock()
            .unwrap()
            .insert(injection.bot.clone(), injection);
    }

    /// The injected error for `bot`'s call, if one is pending (and counts it down).
    fn injected(&self, bot: &str) -> Option<Injection> {
        let mut all = self.injected.lock().unwrap();
        let pending = all.get_mut(bot)?;
        let found = pending.clone();
        pending.count -= 1;
        if pending.count == 0 {
            all.remove(bot);
        }
        Some(found)
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_stand-in/calls", get(calls))
        .route("/_stand-in/inject", post(inject))
        .route("/_stand-in/limits", get(limits))
        .route("/{token}/{method}", post(method).get(method))
        .layer(DefaultBodyLimit::max(64 << 20))
        .with_state(shared)
}

async fn calls(State(shared): State<Arc<Shared>>) -> Json<Vec<Call>> {
    Json(shared.calls.lock().unwrap().clone())
}

async fn limits(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let l = &shared.limits;
    Json(json!({
        "bot_per_sec": l.bot_per_sec, "bot_burst": l.bot_burst,
        "chat_per_sec": l.chat_per_sec, "chat_burst": l.chat_burst,
        "group_per_min": l.group_per_min, "group_burst": l.group_burst,
        "paid_per_sec": l.paid_per_sec, "paid_burst": l.paid_burst,
        "slack_us": l.slack.as_micros() as u64,
    }))
}

async fn inject(State(shared): State<Arc<Shared>>, Json(i): Json<Injection>) -> StatusCode {
    shared.inject(i);
    StatusCode::NO_CONTENT
}

async fn method(
    State(shared): State<Arc<Shared>>,
    Path((token, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let at_us = now_us();
    let Some(bot) = token
        .strip_prefix("bot")
        .and_then(|t| t.split_once(':'))
        .map(|(id, _)| id.to_owned())
    else {
        return refusal(404, "Not Found", None);
    };
    let params = body::params(&headers, &body);
    let chat = params.get("chat_id").cloned();
    let text = params.get("text").cloned();
    let paid = params
        .get("allow_paid_broadcast")
        .is_some_and(|v| v == "true");
    let (status, answer) = if let Some(i) = shared.injected(&bot) {
        if let Some(after) = i.retry_after {
            shared
                .buckets
                .lock()
                .unwrap()
                .freeze(&bot, at_us + after * 1_000_000);
        }
        refusal(i.error_code, "Injected by the stand-in", i.retry_after)
    } else if is_message(&method) {
        let admitted = shared.buckets.lock().unwrap().admit(
            &shared.limits,
            at_us,
            &bot,
            chat.as_deref(),
            paid,
        );
        match admitted {
            Ok(()) => served(&bot, &method, chat.as_deref(), &params, at_us),
            Err(secs) => refusal(
                429,
                &format!("Too Many Requests: retry after {secs}"),
                Some(secs),
            ),
        }
    } else {
        served(&bot, &method, chat.as_deref(), &params, at_us)
    };
    let mut record = shared.calls.lock().unwrap();
    if record.len() < MAX_RECORDED {
        record.push(Call {
            at_us,
            bot,
            method,
            chat,
            text,
            status: status.as_u16(),
            paid,
        });
    }
    (status, answer)
}

fn served(
    bot: &str,
    method: &str,
    chat: Option<&str>,
    params: &HashMap<String, String>,
    at_us: u64,
) -> (StatusCode, Json<Value>) {
    let result = if method.eq_ignore_ascii_case("getMe") {
        // Frameworks ask who they are before they start (python-telegram-bot, aiogram).
        json!({
            "id": bot.parse::<i64>().unwrap_or(0),
            "is_bot": true,
            "first_name": format!("Bot {bot}"),
            "username": format!("bot{bot}_bot"),
            "can_join_groups": true,
            "can_read_all_group_messages": false,
            "supports_inline_queries": false,
        })
    } else if is_message(method) {
        let id = chat.and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
        json!({
            "message_id": at_us % 1_000_000_000,
            "date": at_us / 1_000_000,
            "chat": {"id": id, "type": if id < 0 { "supergroup" } else { "private" }},
            "text": params.get("text").cloned().unwrap_or_default(),
        })
    } else {
        Value::Bool(true)
    };
    (StatusCode::OK, Json(json!({"ok": true, "result": result})))
}

fn refusal(code: u16, description: &str, retry_after: Option<u64>) -> (StatusCode, Json<Value>) {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(after) = retry_after {
        body["parameters"] = json!({"retry_after": after});
    }
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        Json(body),
    )
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
