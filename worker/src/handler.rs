//! The handler API: what a bot developer implements to run their own logic behind sluice.
//!
//! ```no_run
//! use sluice_worker::handler::{HandlerContext, HandlerError, Origin, Update, UpdateHandler};
//!
//! struct EchoBot;
//!
//! impl UpdateHandler for EchoBot {
//!     async fn handle(&self, ctx: &HandlerContext, update: &Update) -> Result<(), HandlerError> {
//!         match &update.origin {
//!             Origin::Telegram { chat: Some(chat), .. } if update.kind == "message" => {
//!                 sqlx::query("SELECT $1").bind(chat).execute(&ctx.db).await?;
//!             }
//!             Origin::Signed { source, .. } => tracing::info!(%source, kind = %update.kind, "event"),
//!             _ => {}
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
//! Whatever the handler, the runtime writes the update's row once (before calling the handler),
//! retries transient failures with backoff and parks permanent ones in the dead letters. Once a
//! handler has finished with an update (returned `Ok`), the runtime records it on the row
//! (`handled_at`) and never runs a handler for that update again, whichever lane, replay or
//! redelivery brings it back. A crash between the handler's return and that record runs it again:
//! a handler runs at least once per update, so make its side effects idempotent (key them on
//! `update.origin.dedup_key()`: `(bot, update_id)` or `(source, key)`).
//!
//! The one exception is on purpose: `sluice-worker history replay` runs stored updates through
//! the handler again, with [`Update::replay`] set (docs/history.md).

use std::{fmt::Display, future::Future, time::Duration};

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use sluice_botapi::{BotApi, BotApiError};
use sluice_shared::{job::Job, lanes::Lane};
use sqlx::PgPool;

/// Who sent an update, with the keys each kind of sender has: a Telegram update's bot,
/// `update_id`, chat and user, or a signed webhook's source, event key and rate key.
pub use sluice_shared::job::Origin;

/// One update as a handler sees it: a Telegram update or an event of a signed-webhook source,
/// told apart by its [`Origin`].
#[derive(Debug, Clone)]
pub struct Update {
    /// The queue's job id (a ULID); changes when a retry re-queues the update.
    pub job_id: String,
    pub origin: Origin,
    /// The Telegram update's kind ("message", ...) or the signed event's type.
    pub kind: String,
    pub lane: Lane,
    pub received_at_ms: i64,
    /// The body exactly as Telegram or the provider sent it.
    pub raw: Box<RawValue>,
    /// 0 on the first run, then 1, 2, ... on retries.
    pub attempt: u32,
    /// Run again from the stored history by `sluice-worker history replay`, not delivered by
    /// the queue: the handler ran for this update before (skip what must not happen twice).
    pub replay: bool,
}

impl Update {
    pub(crate) fn new(job: &Job, job_id: String) -> Self {
        Update {
            job_id,
            origin: job.origin.clone(),
            kind: job.kind.clone(),
            lane: job.lane,
            received_at_ms: job.received_at_ms,
            raw: job.payload.clone(),
            attempt: job.attempt,
            replay: false,
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

/// Bot API failures: Telegram's refusals (400, 403 blocked, 404) and calls that can never be
/// made (no token, an invalid call) are permanent; a 429 or a wait past `SLUICE_BOTAPI_MAX_WAIT`
/// retries after the time it names; 5xx, network and limiter failures retry with backoff.
impl From<BotApiError> for HandlerError {
    fn from(e: BotApiError) -> Self {
        if e.is_permanent() {
            return HandlerError::permanent(e);
        }
        HandlerError::Transient {
            retry_after: e.retry_after(),
            reason: e.to_string(),
        }
    }
}

/// What a handler may use, shared by all jobs of the process.
#[derive(Clone)]
pub struct HandlerContext {
    /// The worker's bounded Postgres pool (`DB_POOL_*`).
    pub db: PgPool,
    /// Telegram's Bot API for the registered bots, under the limits every worker shares
    /// (`SLUICE_TELEGRAM_API_URL`, `SLUICE_BOTAPI_*`; docs/outbound.md).
    pub bot_api: BotApi,
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
