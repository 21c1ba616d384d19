//! What a Bot API call can end in, typed so that a handler (and the worker's retry policy) can
//! tell "Telegram refused it, never retry" from "try later" without reading text.
//!
//! No variant ever holds a token: reqwest's errors are stripped of their URL (which carries
//! `/bot<token>/`) before they become text here.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BotApiError {
    /// The bot has no Bot API token (`sluice-api bots update NAME --token`), or is unknown.
    #[error("bot {0} has no Bot API token")]
    NoToken(String),
    /// The token is stored but cannot be opened (no or wrong `SLUICE_SECRETS_KEY`).
    #[error("the Bot API token of bot {bot} cannot be opened: {why}")]
    Token { bot: String, why: String },
    /// The call itself is malformed (method name, `chat_id`); sending it would not help.
    #[error("invalid Bot API call: {0}")]
    Invalid(&'static str),
    /// Its turn under the limits (or the end of a freeze) is further away than
    /// `SLUICE_BOTAPI_MAX_WAIT`: not sent.
    #[error("not sent: the bot's limits would hold it {0:?}, longer than SLUICE_BOTAPI_MAX_WAIT")]
    WaitTooLong(Duration),
    /// Telegram refused it for good (400 bad request, 403 blocked by the user, 404, ...).
    #[error("Telegram refused {}: {}", .0.error_code, .0.description)]
    Rejected(Failure),
    /// Telegram answered 429 and the attempts or the wait allowed ran out. The bot is frozen on
    /// every worker for `retry_after`.
    #[error("Telegram asks to retry after {0:?} (too many requests)")]
    RetryAfter(Duration),
    /// 5xx from Telegram on every attempt.
    #[error("Telegram failed with {0} on every attempt")]
    Server(u16),
    /// No answer: connection refused or reset, DNS, TLS, ... on every attempt.
    #[error("Bot API unreachable: {0}")]
    Network(String),
    /// No complete answer within `SLUICE_BOTAPI_TIMEOUT` on the last attempt.
    #[error("no answer from the Bot API within {0:?}")]
    Timeout(Duration),
    /// An answer that is not Telegram's JSON, or longer than `SLUICE_BOTAPI_MAX_RESPONSE_BYTES`.
    #[error("unusable answer from the Bot API: {0}")]
    BadAnswer(String),
    /// The shared limiter's Redis did not decide: nothing is sent unlimited.
    #[error("the Bot API limiter is unavailable (Redis): {0}")]
    Limiter(String),
    /// The bot's token could not be read (Postgres).
    #[error("the bot's token cannot be read (Postgres): {0}")]
    Store(String),
}

impl BotApiError {
    /// Whether trying the same call again can change anything.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            BotApiError::NoToken(_)
                | BotApiError::Token { .. }
                | BotApiError::Invalid(_)
                | BotApiError::Rejected(_)
        )
    }

    /// How long to wait before trying again, when Telegram or the limiter said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            BotApiError::RetryAfter(d) | BotApiError::WaitTooLong(d) => Some(*d),
            _ => None,
        }
    }

    /// The `outcome` label of the call (one of `sluice_shared::metrics::BOTAPI_OUTCOMES`).
    pub fn outcome(&self) -> &'static str {
        match self {
            BotApiError::NoToken(_) | BotApiError::Token { .. } => "no_token",
            BotApiError::Invalid(_) => "invalid",
            BotApiError::WaitTooLong(_) => "wait_too_long",
            BotApiError::Limiter(_) | BotApiError::Store(_) => "unavailable",
            BotApiError::Rejected(_) => "rejected",
            BotApiError::RetryAfter(_) => "retry_after",
            BotApiError::Server(_) | BotApiError::BadAnswer(_) => "server_error",
            BotApiError::Network(_) => "network",
            BotApiError::Timeout(_) => "timeout",
        }
    }
}

/// A refusal, as a handler reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error_code: i64,
    /// Telegram's text ("Forbidden: bot was blocked by the user"), cut to 200 characters.
    pub description: String,
    /// The group became a supergroup: send to this id instead.
    pub migrate_to_chat_id: Option<i64>,
}

/// A reqwest error as text without its URL (which holds the token).
pub(crate) fn network_text(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
