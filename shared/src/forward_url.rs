//! What a forward target URL may be (the worker's `SLUICE_FORWARD_URL`, a bot's own
//! `--forward-url`), and how one is shown: never with what may be a credential in it.

use url::Url;

/// Longer than any real target; the column's own check says the same.
pub const MAX_LEN: usize = 2048;

/// Why a text is not a forward target. No variant holds the URL: its user-info, path or query
/// may carry a token, and these errors reach logs and terminals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    /// The url crate's reason ("relative URL without a base", "invalid port number", ...).
    #[error("not a valid absolute URL: {0}")]
    Invalid(String),
    #[error("must be an http:// or https:// URL, not {0}://")]
    Scheme(String),
    #[error("has no host")]
    NoHost,
    #[error("is longer than {MAX_LEN} bytes")]
    TooLong,
}

/// An absolute `http://` or `https://` URL with a host.
pub fn parse(raw: &str) -> Result<Url, UrlProblem> {
    let raw = raw.trim();
    if raw.len() > MAX_LEN {
        return Err(UrlProblem::TooLong);
    }
    let url = Url::parse(raw).map_err(|e| UrlProblem::Invalid(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(UrlProblem::Scheme(other.to_owned())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlProblem::NoHost);
    }
    Ok(url)
}

/// The URL as it may be printed: scheme, host and port, then `/…` when there is more (user-info,
/// path or query may each hold a token: a bot token in the path is a common pattern).
pub fn shown(url: &Url) -> String {
    let origin = url.origin().ascii_serialization();
    let more = url.path() != "/"
        || url.query().is_some()
        || !url.username().is_empty()
        || url.password().is_some();
    if more {
        format!("{origin}/…")
    } else {
        origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_http_urls_with_a_host() {
        assert!(parse("http://127.0.0.1:8000/telegram?token=t").is_ok());
        assert!(parse(" https://bot.example/hook ").is_ok());
        assert_eq!(
            parse("ftp://bot.example/"),
            Err(UrlProblem::Scheme("ftp".into()))
        );
        assert_eq!(
            parse(&format!("http://bot/{}", "x".repeat(MAX_LEN))),
            Err(UrlProblem::TooLong)
        );
        for bad in ["/hook", "bot.example/hook", "http://", "http://:80/x", ""] {
            assert!(
                matches!(parse(bad), Err(UrlProblem::Invalid(_) | UrlProblem::NoHost)),
                "{bad}"
            );
        }
    }

    #[test]
    fn shown_keeps_only_the_origin() {
        let show = |s: &str| shown(&parse(s).unwrap());
        assert_eq!(show("https://bot.example"), "https://bot.example");
        assert_eq!(show("http://bot.example:8443/"), "http://bot.example:8443");
        for secretive in [
            "https://user:s3cr3t@bot.example/",
            "https://bot.example/hook/123456:s3cr3t",
            "https://bot.example/?token=s3cr3t",
        ] {
            let text = show(secretive);
            assert_eq!(text, "https://bot.example/…");
            assert!(!text.contains("s3cr3t"));
        }
    }
}
