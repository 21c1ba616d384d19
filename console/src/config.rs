//! The console's settings, parsed once with the api's (`sluice-api` flattens [`ConsoleConfig`]).

use std::{fmt, net::SocketAddr, str::FromStr, time::Duration};

use sha2::{Digest, Sha256};
use sluice_shared::config::{duration_between, parse_addr};
use subtle::ConstantTimeEq;

#[derive(clap::Args, Debug, Clone)]
pub struct ConsoleConfig {
    /// Address of the console listener (pages at /, JSON API at /api/v1). Keep it private: it is
    /// an operator's tool, not part of the webhook ingress.
    #[arg(id = "console_addr", long = "console-addr", env = "SLUICE_CONSOLE_ADDR", value_name = "SLUICE_CONSOLE_ADDR",
          default_value = "127.0.0.1:9092", value_parser = parse_addr)]
    pub addr: SocketAddr,

    /// Hex SHA-256 of each accepted console token, comma-separated (several while rotating).
    /// Unset: the console does not start.
    #[arg(
        id = "console_tokens",
        long = "console-token-sha256",
        env = "SLUICE_CONSOLE_TOKEN_SHA256",
        value_name = "SLUICE_CONSOLE_TOKEN_SHA256"
    )]
    pub tokens: Option<TokenHashes>,

    /// How long a browser session lasts after sign-in (1 min to 7 days).
    #[arg(id = "console_session_ttl", long = "console-session-ttl", env = "SLUICE_CONSOLE_SESSION_TTL", value_name = "SLUICE_CONSOLE_SESSION_TTL",
          default_value = "8h", value_parser = duration_between(Duration::from_secs(60), Duration::from_secs(7 * 86_400)))]
    pub session_ttl: Duration,

    /// Mark the session cookie `Secure` (sent over HTTPS only). Turn off only for plain-HTTP
    /// access on loopback (tests, a port-forward).
    #[arg(id = "console_secure_cookie", long = "console-secure-cookie", env = "SLUICE_CONSOLE_SECURE_COOKIE", value_name = "SLUICE_CONSOLE_SECURE_COOKIE",
          default_value_t = true, action = clap::ArgAction::Set)]
    pub secure_cookie: bool,

    /// Sign-in attempts allowed per client address per minute (the token form and bearer
    /// tokens that do not match).
    #[arg(id = "console_login_attempts", long = "console-login-attempts", env = "SLUICE_CONSOLE_LOGIN_ATTEMPTS", value_name = "SLUICE_CONSOLE_LOGIN_ATTEMPTS",
          default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub login_attempts: u32,
}

/// The SHA-256s of the accepted console tokens. The tokens themselves are never configured, so
/// a leaked manifest or environment dump does not sign anyone in.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenHashes(Vec<[u8; 32]>);

impl TokenHashes {
    /// Whether `token` hashes to one of the configured digests. Every digest is compared, each
    /// in constant time, so the answer's timing says neither which one matched nor how far.
    pub fn accepts(&self, token: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        self.0
            .iter()
            .fold(0u8, |found, h| found | h.ct_eq(&digest).unwrap_u8())
            == 1
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromStr for TokenHashes {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let hashes = s
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .enumerate()
            .map(|(i, h)| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(h, &mut out).map_err(|_| {
                    format!(
                        "entry {} is not 64 hex digits (a SHA-256, e.g. `printf %s TOKEN | sha256sum`)",
                        i + 1
                    )
                })?;
                Ok(out)
            })
            .collect::<Result<Vec<_>, String>>()?;
        if hashes.is_empty() {
            return Err("no SHA-256 given (unset it to leave the console off)".into());
        }
        Ok(TokenHashes(hashes))
    }
}

/// The count only: which digests are accepted is nobody's business in a log line.
impl fmt::Debug for TokenHashes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHashes({} digest(s))", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct T {
        #[command(flatten)]
        cfg: ConsoleConfig,
    }

    fn sha(token: &str) -> String {
        hex::encode(Sha256::digest(token))
    }

    #[test]
    fn any_of_several_digests_accepts_its_token_and_nothing_else() {
        let hashes: TokenHashes = format!("{}, {}", sha("old-token"), sha("new-token"))
            .parse()
            .unwrap();
        assert_eq!(hashes.len(), 2);
        assert!(hashes.accepts("old-token"));
        assert!(hashes.accepts("new-token"));
        assert!(!hashes.accepts("new-token "));
        assert!(!hashes.accepts(""));
        assert_eq!(format!("{hashes:?}"), "TokenHashes(2 digest(s))");
    }

    #[test]
    fn a_bad_digest_is_refused_naming_the_variable_and_not_echoed() {
        let err = T::try_parse_from(["t", "--console-token-sha256=abc,not-hex-at-all"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SLUICE_CONSOLE_TOKEN_SHA256"), "{err}");
        assert!(err.contains("entry 1 is not 64 hex digits"), "{err}");
        let err = T::try_parse_from(["t", "--console-token-sha256=,"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no SHA-256 given"), "{err}");
    }

    #[test]
    fn defaults_leave_the_console_off_on_loopback_with_secure_cookies() {
        let cfg = T::try_parse_from(["t"]).unwrap().cfg;
        assert!(cfg.tokens.is_none());
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:9092");
        assert_eq!(cfg.session_ttl, Duration::from_secs(8 * 3600));
        assert!(cfg.secure_cookie);
        assert_eq!(cfg.login_attempts, 10);
        let err = T::try_parse_from(["t", "--console-session-ttl=10s"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("SLUICE_CONSOLE_SESSION_TTL"), "{err}");
    }
}
