//! `SLUICE_SECRETS_KEY` and `SLUICE_SECRETS_KEY_PREVIOUS`: read as raw text (a clap parse error
//! would print the value), then checked once into a [`Keyring`] with errors that name the
//! variable and never the value.

use std::fmt;

use zeroize::Zeroizing;

use super::{Key, Keyring};

/// A key as given, not yet checked: wiped on drop, never shown.
#[derive(Clone)]
pub struct RawKey(Zeroizing<String>);

impl RawKey {
    pub fn new(text: &str) -> RawKey {
        RawKey(Zeroizing::new(text.to_owned()))
    }
}

impl fmt::Debug for RawKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawKey([redacted])")
    }
}

fn raw_key(s: &str) -> Result<RawKey, std::convert::Infallible> {
    Ok(RawKey::new(s))
}

/// The keys that seal secrets at rest (bot tokens, source HMAC secrets).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SecretsConfig {
    /// Key (base64 of 32 random bytes: `openssl rand -base64 32`) that encrypts bot tokens and
    /// source signing secrets in Postgres. Without it a bot token cannot be stored.
    #[arg(
        long = "secrets-key",
        env = "SLUICE_SECRETS_KEY",
        value_name = "SLUICE_SECRETS_KEY",
        hide_env_values = true,
        value_parser = raw_key
    )]
    pub secrets_key: Option<RawKey>,

    /// While rotating: the key being replaced, accepted for decryption only. Run
    /// `sluice-api secrets rotate`, then remove it.
    #[arg(
        long = "secrets-key-previous",
        env = "SLUICE_SECRETS_KEY_PREVIOUS",
        value_name = "SLUICE_SECRETS_KEY_PREVIOUS",
        hide_env_values = true,
        value_parser = raw_key
    )]
    pub secrets_key_previous: Option<RawKey>,
}

impl SecretsConfig {
    /// The keyring, or one line naming the variable that is wrong (never its value).
    pub fn keyring(&self) -> Result<Keyring, String> {
        let key = |raw: &Option<RawKey>, var: &str| {
            raw.as_ref()
                .filter(|r| !r.0.trim().is_empty())
                .map(|r| Key::from_base64(&r.0).map_err(|e| format!("{var}: {e}")))
                .transpose()
        };
        Keyring::new(
            key(&self.secrets_key, "SLUICE_SECRETS_KEY")?,
            key(&self.secrets_key_previous, "SLUICE_SECRETS_KEY_PREVIOUS")?,
        )
    }
}

impl SecretsConfig {
    /// The two settings from the environment alone, for a command that takes no key flags.
    pub fn from_env() -> Result<SecretsConfig, String> {
        #[derive(clap::Parser)]
        struct Env {
            #[command(flatten)]
            keys: SecretsConfig,
        }
        crate::config::try_parse_from::<Env>(["sluice"])
            .map(|e| e.keys)
            .map_err(|e| crate::config::one_line(&e))
    }
}
