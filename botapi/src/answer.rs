//! Telegram's answer to a call, read with a size bound: `{"ok":true,"result":...}` or
//! `{"ok":false,"error_code":N,"description":"...","parameters":{"retry_after":N}}`.

use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::BotApiError;
pub use crate::error::Failure;

/// Telegram's answer as it came (the proxy and webhook replies hand it back as is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<ResponseParameters>,
}

/// Telegram's `ResponseParameters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrate_to_chat_id: Option<i64>,
}

impl Answer {
    /// The `retry_after` of a 429, cut to `cap` (a remote must not freeze a bot forever); one
    /// second when a 429 names none.
    pub fn retry_after(&self, cap: Duration) -> Option<Duration> {
        (self.error_code == Some(429)).then(|| {
            let secs = self
                .parameters
                .as_ref()
                .and_then(|p| p.retry_after)
                .unwrap_or(1);
            Duration::from_secs(secs.max(1)).min(cap)
        })
    }

    /// The result of a successful call, or the refusal as a typed error.
    pub fn into_result(self, cap: Duration) -> Result<Value, BotApiError> {
        if self.ok {
            return Ok(self.result.unwrap_or(Value::Null));
        }
        if let Some(after) = self.retry_after(cap) {
            return Err(BotApiError::RetryAfter(after));
        }
        let code = self.error_code.unwrap_or(0);
        if code >= 500 {
            return Err(BotApiError::Server(code as u16));
        }
        Err(BotApiError::Rejected(Failure {
            error_code: code,
            description: self
                .description
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
            migrate_to_chat_id: self.parameters.and_then(|p| p.migrate_to_chat_id),
        }))
    }
}

/// Reads a response body of at most `max` bytes and parses it as an [`Answer`]; the bytes come
/// back too, for the proxy, which hands them on as they are.
pub(crate) async fn read(
    response: reqwest::Response,
    max: usize,
) -> Result<(Answer, bytes::Bytes), BotApiError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(BotApiError::BadAnswer(format!("longer than {max} bytes")));
    }
    let mut body = Vec::new();
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| BotApiError::Network(crate::error::network_text(e)))?;
        if body.len() + chunk.len() > max {
            return Err(BotApiError::BadAnswer(format!("longer than {max} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let answer = serde_json::from_slice(&body)
        .map_err(|e| BotApiError::BadAnswer(format!("not a Bot API answer: {e}")))?;
    Ok((answer, body.into()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn answer(v: Value) -> Answer {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn refusals_become_typed_errors() {
        let cap = Duration::from_secs(60);
        let a = answer(
            json!({"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}),
        );
        assert_eq!(a.retry_after(cap), Some(Duration::from_secs(5)));
        assert!(matches!(a.into_result(cap), Err(BotApiError::RetryAfter(d)) if d.as_secs() == 5));
        let a = answer(json!({"ok":false,"error_code":429,"parameters":{"retry_after":99999999}}));
        assert_eq!(a.retry_after(cap), Some(cap));
        let a = answer(
            json!({"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}),
        );
        let e = a.into_result(cap).unwrap_err();
        assert!(e.is_permanent());
        assert!(matches!(
            e,
            BotApiError::Rejected(Failure {
                error_code: 403,
                ..
            })
        ));
        let ok = answer(json!({"ok":true,"result":{"message_id":1}}));
        assert_eq!(ok.into_result(cap).unwrap()["message_id"], 1);
    }
}
