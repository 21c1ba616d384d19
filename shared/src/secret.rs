//! A secret held in memory (an HMAC key, a bot token): never printed, logged or shown by
//! `Debug`, and wiped when dropped.

use std::{fmt, str::FromStr};

/// A signing secret. HMAC needs the secret itself, not a hash of it, so it is kept as is; it is
/// never printed, logged or shown by `Debug`. Each use sets its own length rules on top of
/// [`FromStr`]'s 1 to 1024 bytes (see [`Secret::unchecked`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value without checking its length, for a caller whose own error must not echo
    /// the value (clap's parse errors print the rejected value; a secret's must not reach a log).
    pub fn unchecked(s: &str) -> Secret {
        Secret(s.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

// The registry drops its copies on every reload: wipe them rather than leave them in freed memory.
impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 1024 {
            return Err("a signing secret is 1 to 1024 bytes".into());
        }
        Ok(Secret(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_never_shows_the_value() {
        let s: Secret = "hunter2-hunter2-hunter2".parse().unwrap();
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert!("".parse::<Secret>().is_err());
        assert!("x".repeat(1025).parse::<Secret>().is_err());
    }
}
