//! The forward handler's settings, checked once at start-up: a target that cannot work stops
//! the process with an error naming the variable (and never echoing its value).

use reqwest::Url;
use sluice_shared::secret::Secret;

pub use super::error::ForwardConfigError;
use super::sign::Signer;

/// Where to forward and how to sign.
#[derive(Debug, Clone)]
pub struct ForwardSettings {
    pub url: Url,
    pub signer: Signer,
}

impl ForwardSettings {
    pub fn new(
        url: Option<&str>,
        secret: Option<&Secret>,
        previous: Option<&Secret>,
    ) -> Result<ForwardSettings, ForwardConfigError> {
        let url = url.ok_or(ForwardConfigError::Missing("SLUICE_FORWARD_URL"))?;
        let secret = secret.ok_or(ForwardConfigError::Missing("SLUICE_FORWARD_SECRET"))?;
        Ok(ForwardSettings {
            url: target_url(url)?,
            signer: Signer::new(secret, previous)?,
        })
    }
}

/// An absolute `http://` or `https://` URL with a host (https: the system's roots and
/// `SLUICE_CA_FILE`, see `Forward::new`).
fn target_url(raw: &str) -> Result<Url, ForwardConfigError> {
    use sluice_shared::forward_url::{UrlProblem, parse};
    parse(raw).map_err(|e| match e {
        UrlProblem::Invalid(reason) => ForwardConfigError::Invalid(reason),
        UrlProblem::Scheme(scheme) => ForwardConfigError::Scheme(scheme),
        UrlProblem::NoHost => ForwardConfigError::NoHost,
        UrlProblem::TooLong => ForwardConfigError::Invalid(e.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<Url, ForwardConfigError> {
        target_url(url)
    }

    #[test]
    fn only_absolute_http_urls_with_a_host() {
        assert!(check("http://127.0.0.1:8000/telegram?token=t").is_ok());
        assert!(check("http://bot.internal/hook").is_ok());
        assert!(check("https://bot.example/hook?token=secret").is_ok());
        assert_eq!(
            check("ftp://bot.example/"),
            Err(ForwardConfigError::Scheme("ftp".into()))
        );
        assert_eq!(
            check("unix:/run/bot.sock"),
            Err(ForwardConfigError::Scheme("unix".into()))
        );
        for bad in ["/hook", "bot.example/hook", "http://", "http://:80/x", ""] {
            let err = check(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    ForwardConfigError::Invalid(_) | ForwardConfigError::NoHost
                ),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn errors_name_the_variable_and_never_the_url() {
        let secret: Secret = "0123456789abcdef".parse().unwrap();
        for url in [
            "ftp://bot.example/hook?token=secret",
            "http://bot.example:99999/hook?token=secret",
            "relative/hook?token=secret",
        ] {
            let err = ForwardSettings::new(Some(url), Some(&secret), None).unwrap_err();
            let text = err.to_string();
            assert!(text.starts_with("SLUICE_FORWARD_URL"), "{text}");
            assert!(
                !text.contains("secret") && !text.contains("bot.example"),
                "{text}"
            );
        }
        let err = ForwardSettings::new(Some("http://bot/"), None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SLUICE_FORWARD_SECRET is required with SLUICE_HANDLER=forward"
        );
    }
}
