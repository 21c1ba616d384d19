//! `forward`: POST the raw update to its bot's forward URL (`bots update --forward-url`) or
//! `SLUICE_FORWARD_URL`, so a bot written in any language, with any framework, can sit behind
//! sluice unmodified. 2xx = done; 5xx, 429 or a timeout = retry; other 4xx = dead letter.
//! Redirects are not followed: a 301/308 is a dead letter, any other 3xx a retry.
//!
//! # Layout
//! - [`settings`]: the default target URL and secrets, checked at start-up.
//! - [`targets`]: each bot's own URL and Telegram secret token, read with a bounded age.
//! - [`sign`]: the `X-Sluice-Signature` header and the `X-Sluice-Delivery-Id`.
//! - [`outcome`]: the target's status as a handler outcome.
//! - [`reply`]: the webhook reply a target may answer with, read and parsed.
//! - [`replies`]: what becomes of a reply: executed through `ctx.bot_api`, counted, logged.

pub mod error;
pub mod outcome;
pub mod replies;
pub mod reply;
pub mod settings;
pub mod sign;
pub mod targets;

use std::{
    error::Error as _,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use reqwest::{
    Url,
    header::{HeaderValue, RETRY_AFTER},
    redirect,
};
use sluice_shared::{sealed::Keyring, telemetry::propagate, tls::TlsConfig};
use tracing::{Instrument as _, field::Empty};

use crate::handler::{HandlerContext, HandlerError, Origin, Update, UpdateHandler};
pub use outcome::classify;
use replies::Replies;
use settings::ForwardSettings;
use sign::{Signer, delivery_id};
use targets::{BotTarget, BotTargets, TargetError};

/// At most this much of a target's answer is read (and thrown away) when it is no reply:
/// enough for the usual short answer, so the connection goes back to the pool, and never a
/// target's endless stream.
const ANSWER_CAP: usize = 64 * 1024;

/// The header Telegram sends a bot's secret token in; a framework's webhook handler checks it.
pub const SECRET_TOKEN_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Debug, Clone)]
pub struct Forward {
    client: reqwest::Client,
    /// `SLUICE_FORWARD_URL`: for bots without their own, and for signed sources.
    url: Url,
    signer: Signer,
    targets: BotTargets,
    replies: Replies,
}

impl Forward {
    /// An `https://` target is verified against the system's roots and `SLUICE_CA_FILE`; `keys`
    /// open the bots' sealed webhook secrets.
    pub fn new(
        settings: ForwardSettings,
        timeout: Duration,
        tls: &TlsConfig,
        keys: Arc<Keyring>,
    ) -> Result<Self, reqwest::Error> {
        sluice_shared::tls::install_provider();
        let private_ca = match tls.ca_pem() {
            Some(pem) => reqwest::Certificate::from_pem_bundle(pem)?,
            None => Vec::new(),
        };
        // A redirect followed by reqwest turns the POST into a GET without the body (302, 303)
        // and the target's 200 would count the update as delivered: never follow one.
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(redirect::Policy::none())
            .tls_certs_merge(private_ca)
            .build()?;
        Ok(Forward {
            client,
            url: settings.url,
            signer: settings.signer,
            targets: BotTargets::new(keys),
            replies: Replies::default(),
        })
    }

    /// A send error as a retry reason, without the URL: reqwest puts the whole URL (with a
    /// `?token=` if it has one) in its errors, and the reason reaches logs and dead letters.
    fn send_failed(&self, e: reqwest::Error, url: &Url) -> HandlerError {
        let e = e.without_url();
        let mut reason = format!("forwarding failed: {e}");
        let mut source = e.source();
        while let Some(cause) = source {
            reason.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        // The causes come from hyper and the OS and hold no URL today; make sure of it.
        reason = reason.replace(url.as_str(), "[forward URL]");
        if let Some(query) = url.query().filter(|q| !q.is_empty()) {
            reason = reason.replace(query, "[redacted]");
        }
        HandlerError::transient(reason)
    }

    /// Bot `bot`'s own target; a signed source has none.
    async fn target(
        &self,
        ctx: &HandlerContext,
        origin: &Origin,
    ) -> Result<Option<Arc<BotTarget>>, HandlerError> {
        let Origin::Telegram { bot, .. } = origin else {
            return Ok(None);
        };
        match self.targets.get(&ctx.db, bot).await {
            Ok(target) => Ok(Some(target)),
            Err(e @ TargetError::BadUrl { .. }) => Err(HandlerError::permanent(e)),
            Err(e) => Err(HandlerError::transient(e)),
        }
    }
}

impl UpdateHandler for Forward {
    async fn handle(&self, ctx: &HandlerContext, update: &Update) -> Result<(), HandlerError> {
        let body = update.raw.get();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (bot, update_id) = match &update.origin {
            Origin::Telegram { bot, update_id, .. } => (bot.as_str(), *update_id),
            // The receiver's contract (docs/forwarding.md): the source's name, and no update id.
            Origin::Signed { source, .. } => (source.as_str(), 0),
        };
        let target = self.target(ctx, &update.origin).await?;
        let url = target
            .as_ref()
            .and_then(|t| t.url.as_ref())
            .unwrap_or(&self.url);
        let id = delivery_id(&update.origin);
        let span = tracing::debug_span!("forward", otel.kind = "client", status = Empty);
        let mut request = self
            .client
            .post(url.clone())
            .header("content-type", "application/json")
            .header("x-sluice-bot", bot)
            .header("x-sluice-update-id", update_id.to_string())
            .header("x-sluice-attempt", update.attempt.to_string())
            .header("x-sluice-delivery-id", id)
            .header(
                "x-sluice-signature",
                self.signer.header(now, body.as_bytes()),
            )
            .body(body.to_owned());
        if let Some(token) = target.as_ref().and_then(|t| t.secret_token.as_ref()) {
            request = request.header(SECRET_TOKEN_HEADER, secret_header(bot, token.expose())?);
        }
        if update.replay {
            request = request.header("x-sluice-replay", "1");
        }
        // The target's own tracing continues the update's trace (W3C trace context).
        if let Some(tp) = propagate::traceparent(&span) {
            request = request.header(propagate::TRACEPARENT, tp);
        }
        let resp = request
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| self.send_failed(e, url))?;
        span.record("status", resp.status().as_u16());
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        let outcome = classify(resp.status(), retry_after);
        // Only a bot's update can be answered with a Bot API call, and only with a 2xx. The
        // reply runs before the job is acknowledged; whatever becomes of it, the update was
        // handled and keeps the target's outcome (see `replies`).
        if outcome.is_ok() && target.is_some() {
            let parsed = reply::read(resp, ANSWER_CAP).await;
            self.replies.observe(&ctx.bot_api, bot, parsed).await;
        } else {
            reply::drain(resp, ANSWER_CAP).await;
        }
        outcome
    }
}

/// The secret as a header value marked sensitive (left out of `Debug` and HTTP/2 tables). The
/// api only stores Telegram's alphabet (A-Z a-z 0-9 _ -), so this fails only on a forged row.
fn secret_header(bot: &str, secret: &str) -> Result<HeaderValue, HandlerError> {
    let mut value = HeaderValue::from_str(secret).map_err(|_| {
        HandlerError::permanent(format!(
            "bot '{bot}' has a webhook secret that is not a valid header value"
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}
