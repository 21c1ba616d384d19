//! `forward`: POST the raw update to `SLUICE_FORWARD_URL`, so a bot written in any language can
//! sit behind sluice. 2xx = done; 5xx, 429 or a timeout = retry; other 4xx = dead letter.

use std::time::Duration;

use reqwest::{StatusCode, header::RETRY_AFTER};

use crate::handler::{HandlerContext, HandlerError, Update, UpdateHandler};

#[derive(Debug, Clone)]
pub struct Forward {
    client: reqwest::Client,
    url: String,
}

impl Forward {
    pub fn new(url: String, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build()?;
        Ok(Forward { client, url })
    }
}

impl UpdateHandler for Forward {
    async fn handle(&self, _: &HandlerContext, update: &Update) -> Result<(), HandlerError> {
        let resp = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("x-sluice-bot", &update.bot)
            .header("x-sluice-update-id", update.update_id.to_string())
            .header("x-sluice-attempt", update.attempt.to_string())
            .body(update.raw.get().to_owned())
            .send()
            .await
            .map_err(|e| HandlerError::transient(format!("forwarding failed: {e}")))?;
        classify(
            resp.status(),
            resp.headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
        )
    }
}

/// The forward target's answer, as a handler outcome.
pub fn classify(status: StatusCode, retry_after: Option<&str>) -> Result<(), HandlerError> {
    if status.is_success() {
        return Ok(());
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
}
