//! Why the forward handler cannot start; its own module so that the settings and the signer
//! both use it without importing each other.

/// Why the forward handler cannot start. No variant carries the URL or a secret: a URL may
/// hold a token in its query string, and these errors end up in logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForwardConfigError {
    #[error("{0} is required with SLUICE_HANDLER=forward")]
    Missing(&'static str),
    /// The url crate's reason ("relative URL without a base", "invalid port number", ...).
    #[error("SLUICE_FORWARD_URL is not a valid absolute URL: {0}")]
    Invalid(String),
    #[error("SLUICE_FORWARD_URL must be an http:// or https:// URL, not {0}://")]
    Scheme(String),
    #[error("SLUICE_FORWARD_URL has no host")]
    NoHost,
    #[error("{0} must be 16 to 1024 bytes long")]
    SecretLength(&'static str),
}
