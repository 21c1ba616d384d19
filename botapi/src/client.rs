//! One call start to finish: its class and plan, the bot's token, then up to
//! `SLUICE_BOTAPI_ATTEMPTS` attempts, each after its turn in the limiter; a 429 freezes the bot
//! on every worker; the outcome is counted by method.

use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use sluice_shared::metrics as m;

use crate::{
    BotApi,
    answer::{self, Answer},
    error::{BotApiError, network_text},
    limiter::Plan,
    methods::{self, Class},
    params::Params,
};

/// First backoff after a 5xx or a network failure; doubles per attempt up to [`BACKOFF_MAX`].
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

impl BotApi {
    /// Calls `method` for `bot` and returns its `result`, or the refusal as a typed error.
    pub async fn call(
        &self,
        bot: &str,
        method: &str,
        params: Params,
    ) -> Result<Value, BotApiError> {
        self.call_raw(bot, method, params)
            .await?
            .into_result(self.inner.retry_after_max)
    }

    /// Calls `method` for `bot` and returns Telegram's answer as it came, refusals included
    /// (for webhook replies, which hand it back); `Err` only when there is no answer to give:
    /// not sent (limits, token, invalid call), or no usable answer.
    pub async fn call_raw(
        &self,
        bot: &str,
        method: &str,
        mut params: Params,
    ) -> Result<Answer, BotApiError> {
        let call = Call {
            bot,
            method,
            token: None,
            max_wait: self.inner.max_wait,
        };
        self.counted(call, &mut params, Via::Client)
            .await
            .map(|r| r.answer)
    }

    /// The Bot API proxy's call: `method` for `bot` with the token the client presented (so a
    /// client never sends with a token it does not hold), waiting at most `max_wait` for its
    /// turn; Telegram's status and body come back as they were.
    pub async fn call_through(
        &self,
        bot: &str,
        token: &str,
        method: &str,
        mut params: Params,
        max_wait: Duration,
    ) -> Result<Received, BotApiError> {
        let call = Call {
            bot,
            method,
            token: Some(token),
            max_wait,
        };
        self.counted(call, &mut params, Via::Proxy).await
    }

    async fn counted(
        &self,
        call: Call<'_>,
        params: &mut Params,
        via: Via,
    ) -> Result<Received, BotApiError> {
        let method = call.method;
        let result = self.attempts(call, params).await;
        let outcome = match &result {
            Ok(r) if r.answer.ok => "ok",
            Ok(r) if r.answer.error_code == Some(429) => "retry_after",
            Ok(r) if r.answer.error_code.is_some_and(|c| c >= 500) => "server_error",
            Ok(_) => "rejected",
            Err(e) => e.outcome(),
        };
        metrics::counter!(m::BOTAPI_CALLS_TOTAL,
            m::LABEL_METHOD => methods::label(method), m::LABEL_OUTCOME => outcome,
            m::LABEL_VIA => via.label())
        .increment(1);
        result
    }

    async fn attempts(&self, call: Call<'_>, params: &mut Params) -> Result<Received, BotApiError> {
        let inner = &self.inner;
        let Call {
            bot,
            method,
            token,
            max_wait,
        } = call;
        if !methods::valid_name(method) {
            return Err(BotApiError::Invalid("a method name is 1 to 64 letters"));
        }
        let plan = match methods::class(method) {
            Class::Chat => Some(Plan {
                chat: params.chat()?,
                paid: params.paid_broadcast(),
            }),
            Class::Bot => Some(Plan {
                chat: None,
                paid: false,
            }),
            Class::Free => None,
        };
        let stored;
        let token = match token {
            Some(token) => token,
            None => {
                stored = inner.tokens.get(bot).await?;
                stored.expose()
            }
        };
        let url = format!("{}/bot{token}/{method}", inner.base);
        let started = Instant::now();
        let mut last = Err(BotApiError::Invalid("no attempt made"));
        for attempt in 0..inner.attempts {
            if attempt > 0 && !params.replayable() {
                break;
            }
            if let Some(plan) = &plan {
                let left = max_wait.saturating_sub(started.elapsed());
                let waited = inner.limiter.acquire(bot, plan, left).await?;
                metrics::histogram!(m::BOTAPI_WAIT_SECONDS).record(waited.as_secs_f64());
            }
            let Some((content_type, body)) = params.body() else {
                break;
            };
            let sent = inner
                .http
                .post(&url)
                .header(CONTENT_TYPE, content_type)
                .body(body)
                .timeout(inner.timeout)
                .send()
                .await;
            let answer = match sent {
                Ok(response) => {
                    let status = response.status();
                    match answer::read(response, inner.max_response_bytes).await {
                        Ok((answer, body)) => Ok(Received {
                            status: status.as_u16(),
                            body,
                            answer,
                        }),
                        Err(BotApiError::BadAnswer(_)) if status.is_server_error() => {
                            Err(BotApiError::Server(status.as_u16()))
                        }
                        Err(e) => Err(e),
                    }
                }
                Err(e) if e.is_timeout() => Err(BotApiError::Timeout(inner.timeout)),
                Err(e) => Err(BotApiError::Network(network_text(e))),
            };
            match answer {
                Ok(r) if r.answer.ok => return Ok(r),
                Ok(r) => {
                    if let Some(after) = r.answer.retry_after(inner.retry_after_max) {
                        self.frozen(bot, after).await;
                        // Not worth another attempt when the freeze outlasts the wait allowed;
                        // free methods have no limiter to wait in.
                        let left = max_wait.saturating_sub(started.elapsed());
                        if plan.is_none() || after > left {
                            return Ok(r);
                        }
                        last = Ok(r);
                        continue;
                    }
                    if r.answer.error_code.is_none_or(|c| c < 500) {
                        return Ok(r);
                    }
                    last = Ok(r);
                }
                Err(e @ (BotApiError::BadAnswer(_) | BotApiError::Invalid(_))) => return Err(e),
                Err(e) => last = Err(e),
            }
            if attempt + 1 < inner.attempts {
                tokio::time::sleep(backoff(attempt)).await;
            }
        }
        last
    }

    /// A file from `/file/bot<token>/<path>` (the proxy's downloads), with the token the client
    /// presented: the response as it comes, for the caller to stream on. No limiter: a download
    /// is not a message. Only the connection and the head are bounded by the timeout here.
    pub async fn download(
        &self,
        token: &str,
        path: &str,
    ) -> Result<reqwest::Response, BotApiError> {
        let inner = &self.inner;
        let url = format!("{}/file/bot{token}/{path}", inner.base);
        let sent = tokio::time::timeout(inner.timeout, inner.http.get(&url).send()).await;
        match sent {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(BotApiError::Network(network_text(e))),
            Err(_) => Err(BotApiError::Timeout(inner.timeout)),
        }
    }

    /// A 429 came back: freeze the bot on every worker, and say so in the metrics.
    async fn frozen(&self, bot: &str, after: Duration) {
        let inner = &self.inner;
        if let Err(e) = inner.limiter.freeze(bot, after).await {
            tracing::warn!(bot, error = %e, "could not share a 429's freeze through Redis");
        }
        tracing::warn!(
            bot,
            retry_after_s = after.as_secs(),
            "Telegram answered 429: bot frozen"
        );
        metrics::counter!(m::BOTAPI_FREEZES_TOTAL, m::LABEL_BOT => bot.to_owned()).increment(1);
        metrics::gauge!(m::BOTAPI_FROZEN, m::LABEL_BOT => bot.to_owned()).set(1.0);
        let until = Instant::now() + after;
        {
            let mut frozen = inner.frozen_until.lock().unwrap_or_else(|p| p.into_inner());
            frozen.retain(|_, t| *t > Instant::now());
            frozen.insert(bot.to_owned(), until);
        }
        let (api, bot) = (self.clone(), bot.to_owned());
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let mut frozen = api
                .inner
                .frozen_until
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if frozen.get(&bot).is_none_or(|t| *t <= Instant::now()) {
                frozen.remove(&bot);
                metrics::gauge!(m::BOTAPI_FROZEN, m::LABEL_BOT => bot).set(0.0);
            }
        });
    }
}

/// Who made a call: the `via` label of `sluice_botapi_calls_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `BotApi::call` and its helpers: a handler, a webhook reply.
    Client,
    /// The Bot API proxy, for a framework's own call.
    Proxy,
}

impl Via {
    pub fn label(self) -> &'static str {
        match self {
            Via::Client => "client",
            Via::Proxy => "proxy",
        }
    }
}

/// Telegram's answer to a call: its status and body as they came, and the body parsed.
#[derive(Debug, Clone)]
pub struct Received {
    pub status: u16,
    pub body: bytes::Bytes,
    pub answer: Answer,
}

/// One call's identity and bounds.
struct Call<'a> {
    bot: &'a str,
    method: &'a str,
    /// The token to send with; `None`: the bot's own, from `bots.token_sealed`.
    token: Option<&'a str>,
    max_wait: Duration,
}

/// 200 ms, 400 ms, ... up to 2 s, with up to 50 % less at random so workers do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let full = BACKOFF_BASE
        .saturating_mul(1 << attempt.min(10))
        .min(BACKOFF_MAX);
    full.mul_f64(1.0 - rand::random::<f64>() * 0.5)
}
