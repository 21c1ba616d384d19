//! The forward target's answer as a handler outcome: 2xx done; 5xx, 429, 408 retried; 301 and
//! 308 dead letters; other 3xx retried; other 4xx dead letters.

use std::time::Duration;

use reqwest::StatusCode;

use crate::handler::HandlerError;

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
