//! The handler API: what a bot developer implements to run their own logic behind sluice.
//!
//! ```no_run
//! use sluice_worker::handler::{HandlerContext, HandlerError, Update, UpdateHandler};
//!
//! struct EchoBot;
//!
//! impl UpdateHandler for EchoBot {
//!     async fn handle(&self, ctx: &HandlerContext, update: &Update) -> Result<(), HandlerError> {
//!         if update.kind == "message" {
//!             sqlx::query("SELECT 1").execute(&ctx.db).await?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     sluice_worker::run(EchoBot).await
//! }
//! ```
//!
//! Whatever the handler, the runtime writes the update's `updates` row once (before calling the
//! handler), retries transient failures with backoff and parks permanent ones in the dead letters.
//! Once a handler has finished with an update (returned `Ok`), the runtime records it on the row
//! (`handled_at`) and never runs a handler for that update again, whichever lane, replay or
//! redelivery brings it back. A crash between the handler's return and that record runs it again:
//! a handler runs at least once per update, so make its side effects idempotent (key them on
//! `(bot, update_id)`).

use std::{fmt::Display, future::Future, time::Duration};

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use sluice_shared::{job::Job, lanes::Lane};
use sqlx::PgPool;

/// One update as a handler sees it: a Telegram update, or an event of a signed-webhook source
/// (then `source` and `event_key` are set, `bot` is the source's name and `update_id` is 0).
#[derive(Debug, Clone)]
pub struct Update {
    /// The queue's job id (a ULID); changes when a retry re-queues the update.
    pub job_id: String,
    pub bot: String,
    pub update_id: i64,
    pub kind: String,
    pub chat_id: Option<i64>,
    pub user_id: Option<i64>,
    pub lane: Lane,
    pub received_at_ms: i64,
    /// The update body exactly as Telegram sent it.
    pub raw: Box<RawValue>,
    /// 0 on the first run, then 1, 2, ... on retries.
    pub attempt: u32,
    /// The signed-webhook source, for a provider event.
    pub source: Option<String>,
    /// The provider event's idempotency key, for a provider event.
    pub event_key: Option<String>,
}

impl Update {
    pub(crate) fn new(job: &Job, job_id: String) -> Self {
        let env = match job {
            Job::Telegram(env) => env,
            Job::Signed(ev) => {
                return Update {
                    job_id,
                    bot: ev.source.clone(),
                    update_id: 0,
                    kind: ev.kind.clone(),
                    chat_id: None,
                    user_id: None,
                    lane: ev.lane,
                    received_at_ms: ev.received_at_ms,
                    raw: ev.payload.clone(),
                    attempt: ev.attempt,
                    source: Some(ev.source.clone()),
                    event_key: Some(ev.idempotency_key.clone()),
                };
            }
        };
        Update {
            job_id,
            bot: env.bot.clone(),
            update_id: env.update_id,
            kind: env.kind.clone(),
            chat_id: env.chat_id,
            user_id: env.user_id,
            lane: env.lane,
            received_at_ms: env.received_at_ms,
            raw: env.payload.clone(),
            attempt: env.attempt,
            source: None,
            event_key: None,
        }
    }

    /// Decodes the raw update into the handler's own type.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.raw.get())
    }
}

/// How a handler failed, which decides what happens next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// Worth another try later (database, network, timeout, a 5xx or 429 upstream).
    #[error("transient: {reason}")]
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Will fail the same way every time (a payload the handler rejects): dead letters at once.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn transient(reason: impl Display) -> Self {
        HandlerError::Transient {
            reason: reason.to_string(),
            retry_after: None,
        }
    }

    pub fn permanent(reason: impl Display) -> Self {
        HandlerError::Permanent(reason.to_string())
    }
}

/// Database errors are the infrastructure's, not the update's: retry them.
impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        HandlerError::transient(e)
    }
}

/// What a handler may use, shared by all jobs of the process.
#[derive(Clone)]
pub struct HandlerContext {
    /// The worker's bounded Postgres pool (`DB_POOL_*`).
    pub db: PgPool,
}

/// A bot's logic. Runs once per update (at least once: see the module docs).
pub trait UpdateHandler: Send + Sync + 'static {
    fn handle(
        &self,
        ctx: &HandlerContext,
        update: &Update,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Whether the handler does nothing beyond the row the runtime writes anyway (the built-in
    /// `store`): then the row is written as handled in its insert, and a job costs no second
    /// round trip. With `false` (the default) the runtime records `handled_at` after `handle`
    /// returns `Ok`.
    fn stores_only(&self) -> bool {
        false
    }
}
