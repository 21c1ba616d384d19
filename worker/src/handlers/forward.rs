//! `forward`: POST the raw update to `SLUICE_FORWARD_URL`, so a bot written in any language can
//! sit behind sluice. 2xx = done; 5xx, 429 or a timeout = retry; other 4xx = dead letter.
//! Redirects are not followed: a 301/308 is a dead letter, any other 3xx a retry.
//!
//! # Layout
//! - [`settings`]: the target URL and secrets, checked at start-up.
//! - [`sign`]: the `X-Sluice-Signature` header and the `X-Sluice-Delivery-Id`.

pub mod error;
pub mod settings;
pub mod sign;

use std::{
    error::Error as _,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use reqwest::{StatusCode, Url, header::RETRY_AFTER, redirect};
use sluice_shared::telemetry::propagate;
use sluice_shared::tls::TlsConfig;
use tracing::{Instrument as _, field::Empty};

use crate::handler::{HandlerContext, HandlerError, Origin, Update, UpdateHandler};
use settings::ForwardSettings;
use sign::{Signer, delivery_id};

/// At most this much of a target's answer is read (and thrown away): enough for the usual short
/// answer, so the connection goes back to the pool, and never a target's endless stream.
const ANSWER_CAP: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct Forward {
    client: reqwest::Client,
    url: Url,
    signer: Signer,
}

impl Forward {
    /// An `https://` target is verified against the system's roots and `SLUICE_CA_FILE`.
    pub fn new(
        settings: ForwardSettings,
        timeout: Duration,
        tls: &TlsConfig,
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
        })
    }

    /// A send error as a retry reason, without the URL: reqwest puts the whole URL (with a
    /// `?token=` if it has one) in its errors, and the reason reaches logs and dead letters.
    fn send_failed(&self, e: reqwest::Error) -> HandlerError {
        let e = e.without_url();
        let mut reason = format!("forwarding failed: {e}");
        let mut source = e.source();
        while let Some(cause) = source {
            reason.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        // The causes come from hyper and the OS and hold no URL today; make sure of it.
        reason = reason.replace(self.url.as_str(), "[SLUICE_FORWARD_URL]");
        if let Some(query) = self.url.query().filter(|q| !q.is_empty()) {
            reason = reason.replace(query, "[redacted]");
        }
        HandlerError::transient(reason)
    }
}

impl UpdateHandler for Forward {
    async fn handle(&self, _: &HandlerContext, update: &Update) -> Result<(), HandlerError> {
        let body = update.raw.get();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (bot, update_id) = match &update.origin {
            Origin::Telegram { bot, update_id, .. } => (bot.as_str(), *update_id),
            // The receiver's contract (docs/forwarding.md): the source's name, and no update id.
            Origin::Signed { source, .. } => (source.as_str(), 0),
        };
        let id = delivery_id(&update.origin);
        let span = tracing::debug_span!("forward", otel.kind = "client", status = Empty);
        let mut request = self
            .client
            .post(self.url.clone())
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
            .map_err(|e| self.send_failed(e))?;
        span.record("status", resp.status().as_u16());
        let outcome = classify(
            resp.status(),
            resp.headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        );
        drain(resp).await;
        outcome
    }
}

/// Reads the answer up to [`ANSWER_CAP`]; the status has decided already, so errors are moot.
async fn drain(mut resp: reqwest::Response) {
    let mut read = 0;
    while read <= ANSWER_CAP {
        match resp.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            _ => return,
        }
    }
}

/// The forward target's answer, as a handler outcome.
pub fn classify(status: StatusCode, retry_after: Option<&str>) -> Result<(), HandlerError> {
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        return Err(redirected(status));
    }
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        let retry_after = retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        return Err(HandlerError::Transient {
            reason: format!("forward target answered {status}"),
            retry_after,
        });
    }
    Err(HandlerError::permanent(format!(
        "forward target answered {status}"
    )))
}

/// 301 and 308 say the target moved for good: only the operator can fix SLUICE_FORWARD_URL, so
/// retrying is pointless. Any other 3xx may be a passing state of the target: retry. The reason
/// names the status, never the `Location` (it may carry a token like the URL itself).
fn redirected(status: StatusCode) -> HandlerError {
    let reason = format!("forward target answered {status}; redirects are not followed");
    if matches!(
        status,
        StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
    ) {
        HandlerError::permanent(format!("{reason} (fix SLUICE_FORWARD_URL)"))
    } else {
        HandlerError::transient(reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_map_to_outcomes() {
        assert!(classify(StatusCode::NO_CONTENT, None).is_ok());
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY, None),
            Err(HandlerError::Transient { .. })
        ));
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, Some("7")),
            Err(HandlerError::Transient {
                reason: "forward target answered 429 Too Many Requests".into(),
                retry_after: Some(Duration::from_secs(7))
            })
        );
        assert!(matches!(
            classify(StatusCode::UNPROCESSABLE_ENTITY, None),
            Err(HandlerError::Permanent(_))
        ));
    }

    #[test]
    fn redirects_fail_permanent_ones_for_good() {
        for status in [
            StatusCode::MOVED_PERMANENTLY,
            StatusCode::PERMANENT_REDIRECT,
        ] {
            assert_eq!(
                classify(status, None),
                Err(HandlerError::Permanent(format!(
                    "forward target answered {status}; redirects are not followed (fix SLUICE_FORWARD_URL)"
                )))
            );
        }
        for status in [
            StatusCode::FOUND,
            StatusCode::SEE_OTHER,
            StatusCode::TEMPORARY_REDIRECT,
            StatusCode::MULTIPLE_CHOICES,
            StatusCode::NOT_MODIFIED,
        ] {
            assert!(
                matches!(
                    classify(status, Some("5")),
                    Err(HandlerError::Transient { .. })
                ),
                "{status}"
            );
        }
    }
}
