//! What becomes of a forward target's webhook reply: executed through the worker's Bot API
//! client (the bot's token, the limits every worker shares, the 429 freeze, retries), counted
//! (`sluice_forward_replies_total{method,outcome}`) and logged without its values.
//!
//! A reply is executed before the update's job is acknowledged, bounded by the client's own
//! bounds (`SLUICE_BOTAPI_MAX_WAIT` in the limiter, `SLUICE_BOTAPI_TIMEOUT` per attempt): the
//! reply is the bot's answer to that update, and a worker that stops mid-way puts the job back
//! only if it has not finished it. Its failure never fails the update: the target handled the
//! update (it answered 2xx), and running the update again would run the bot's own handler
//! again (its database writes, its other calls) for the sake of one lost message. The reply is
//! at most once; the update stays at least once.

pub mod params;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use sluice_botapi::{BotApi, BotApiError};
use sluice_shared::metrics as m;
use tokio::time::{Duration, Instant};

use super::reply::{ReplyError, WebhookReply};

/// The `method` and `outcome` label of a reply that is not one Telegram would take.
pub const INVALID: &str = "invalid";

/// Every value of the `outcome` label of `sluice_forward_replies_total`.
pub const OUTCOMES: &[&str] = &["sent", "refused", "no_token", "failed", INVALID];

/// A warning about one bot's replies is logged at most once per this.
pub const WARN_EVERY: Duration = Duration::from_secs(60);

/// What [`Replies::execute`] did with a reply.
#[derive(Debug)]
pub enum Executed {
    /// Telegram took it (`"ok": true`).
    Sent,
    /// Telegram refused it: 400, 403 (blocked by the user), 404, or a 429 that outlasted the
    /// attempts and the wait allowed.
    Refused(BotApiError),
    /// The bot has no token sluice can use: none stored (`bots update NAME --token`), or no
    /// `SLUICE_SECRETS_KEY` opens it.
    NoToken(BotApiError),
    /// Not sent, or no answer: its turn too far away, Redis or Postgres down, 5xx or network
    /// failures on every attempt, a call the client refuses.
    Failed(BotApiError),
}

impl Executed {
    fn of(result: Result<serde_json::Value, BotApiError>) -> Executed {
        match result {
            Ok(_) => Executed::Sent,
            Err(e @ (BotApiError::Rejected(_) | BotApiError::RetryAfter(_))) => {
                Executed::Refused(e)
            }
            Err(e @ (BotApiError::NoToken(_) | BotApiError::Token { .. })) => Executed::NoToken(e),
            Err(e) => Executed::Failed(e),
        }
    }

    /// Its `outcome` label (one of [`OUTCOMES`]).
    pub fn outcome(&self) -> &'static str {
        match self {
            Executed::Sent => "sent",
            Executed::Refused(_) => "refused",
            Executed::NoToken(_) => "no_token",
            Executed::Failed(_) => "failed",
        }
    }

    /// Why it was not sent.
    pub fn error(&self) -> Option<&BotApiError> {
        match self {
            Executed::Sent => None,
            Executed::Refused(e) | Executed::NoToken(e) | Executed::Failed(e) => Some(e),
        }
    }
}

/// The replies' side of the forward handler, shared by its jobs.
#[derive(Debug, Clone, Default)]
pub struct Replies {
    /// When each (bot, warning) was last logged.
    warned: Arc<Mutex<HashMap<(String, &'static str), Instant>>>,
}

impl Replies {
    /// Executes, counts and logs what [`super::reply::parse`] made of bot `bot`'s answer.
    /// `Ok(None)` (no reply) is neither counted nor logged.
    pub async fn observe(
        &self,
        api: &BotApi,
        bot: &str,
        parsed: Result<Option<WebhookReply>, ReplyError>,
    ) -> Option<Executed> {
        match parsed {
            Ok(None) => None,
            Ok(Some(reply)) => {
                let method = reply.method();
                tracing::debug!(
                    bot,
                    method,
                    params = reply.params().len(),
                    files = reply.has_files(),
                    "webhook reply"
                );
                let executed = self.execute(api, bot, reply).await;
                metrics::counter!(m::FORWARD_REPLIES_TOTAL,
                    m::LABEL_METHOD => method, m::LABEL_OUTCOME => executed.outcome())
                .increment(1);
                Some(executed)
            }
            Err(e) => {
                metrics::counter!(m::FORWARD_REPLIES_TOTAL,
                    m::LABEL_METHOD => INVALID, m::LABEL_OUTCOME => INVALID)
                .increment(1);
                if self.first_in_a_while(bot, INVALID) {
                    tracing::warn!(bot, error = %e, "webhook reply ignored: not one Telegram takes");
                }
                None
            }
        }
    }

    /// Runs `reply` as bot `bot` through `api`, and logs a failure (its method and the typed
    /// error, never a parameter's value) once per bot and outcome per [`WARN_EVERY`]; the
    /// client counts the call itself in `sluice_botapi_calls_total`.
    pub async fn execute(&self, api: &BotApi, bot: &str, reply: WebhookReply) -> Executed {
        let (method, params) = reply.into_parts();
        let executed = Executed::of(api.call(bot, method, params::to_params(params)).await);
        if let Some(e) = executed.error()
            && self.first_in_a_while(bot, executed.outcome())
        {
            tracing::warn!(
                bot,
                method,
                outcome = executed.outcome(),
                error = %e,
                "webhook reply not executed (the update stays handled: its target answered 2xx)"
            );
        }
        executed
    }

    /// Whether warning `what` about `bot` was not logged within [`WARN_EVERY`] (and is now).
    fn first_in_a_while(&self, bot: &str, what: &'static str) -> bool {
        let now = Instant::now();
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        if warned.len() > 10_000 {
            warned.retain(|_, at| now.duration_since(*at) < WARN_EVERY);
        }
        match warned.get(&(bot.to_owned(), what)) {
            Some(at) if now.duration_since(*at) < WARN_EVERY => false,
            _ => {
                warned.insert((bot.to_owned(), what), now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn warns_once_per_bot_per_minute() {
        let replies = Replies::default();
        assert!(replies.first_in_a_while("a", "no_token"));
        assert!(!replies.first_in_a_while("a", "no_token"));
        assert!(replies.first_in_a_while("b", "no_token"), "per bot");
        assert!(replies.first_in_a_while("a", INVALID), "per warning");
        tokio::time::advance(WARN_EVERY - Duration::from_millis(1)).await;
        assert!(!replies.first_in_a_while("a", "no_token"));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(replies.first_in_a_while("a", "no_token"));
    }

    #[test]
    fn outcomes_follow_the_typed_errors() {
        use sluice_botapi::Failure;
        let refused = BotApiError::Rejected(Failure {
            error_code: 403,
            description: "Forbidden: bot was blocked by the user".into(),
            migrate_to_chat_id: None,
        });
        let cases = [
            (Ok(serde_json::Value::Bool(true)), "sent"),
            (Err(refused), "refused"),
            (
                Err(BotApiError::RetryAfter(Duration::from_secs(5))),
                "refused",
            ),
            (Err(BotApiError::NoToken("b".into())), "no_token"),
            (
                Err(BotApiError::WaitTooLong(Duration::from_secs(40))),
                "failed",
            ),
            (Err(BotApiError::Server(502)), "failed"),
        ];
        for (result, outcome) in cases {
            let executed = Executed::of(result);
            assert_eq!(executed.outcome(), outcome, "{executed:?}");
            assert!(OUTCOMES.contains(&outcome));
            assert_eq!(executed.error().is_none(), outcome == "sent");
        }
    }
}
