//! Secrets at rest: bot tokens and source HMAC secrets sealed with XChaCha20-Poly1305 under
//! `SLUICE_SECRETS_KEY`, opened with it or, while rotating, with `SLUICE_SECRETS_KEY_PREVIOUS`.
//!
//! A sealed value is `version (1) | key id (4) | nonce (24) | ciphertext + tag (16)`. The key
//! id (the first bytes of the key's SHA-256) picks the key that opens it and tells `secrets
//! rotate` which rows are not yet under the current key. The associated data names the table,
//! column and row id, so a ciphertext copied to another row or column does not open.
//!
//! # Layout
//! - this file: [`Key`], [`Keyring`] (seal / open), [`Aad`] and their errors.
//! - [`config`]: the two settings, parsed once into a [`Keyring`].
//! - [`places`]: the [`Aad`] of each sealed bot column, shared by its writer and its readers.

pub mod config;
pub mod places;

use std::fmt;

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, Generate, KeyInit, Payload},
};
use sha2::{Digest, Sha256};
pub use zeroize::Zeroizing;

pub use config::SecretsConfig;

/// The format byte every sealed value starts with.
pub const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;
const TAG_LEN: usize = 16;

/// A 32-byte key: wiped on drop, shown only by its id.
pub struct Key {
    bytes: Zeroizing<[u8; 32]>,
    id: [u8; KEY_ID_LEN],
}

impl Key {
    /// A key from its base64 text; the error never holds the text.
    pub fn from_base64(text: &str) -> Result<Key, KeyError> {
        let decoded = Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| KeyError)?);
        let bytes: [u8; 32] = decoded.as_slice().try_into().map_err(|_| KeyError)?;
        Ok(Key::from_bytes(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Key {
        let digest = Sha256::digest(bytes);
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Key {
            bytes: Zeroizing::new(bytes),
            id,
        }
    }

    /// The key id in hex: safe to print (32 bits of a hash of a 256-bit random key).
    pub fn id(&self) -> String {
        hex(&self.id)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&chacha20poly1305::Key::from(*self.bytes))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key(id={})", self.id())
    }
}

/// A key's text is not base64 of exactly 32 bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not the base64 of 32 bytes (make one with `openssl rand -base64 32`)")]
pub struct KeyError;

/// What identifies a sealed value's place: it is authenticated with it, so a ciphertext moved
/// to another row, column or table fails to open.
#[derive(Debug, Clone, Copy)]
pub struct Aad<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: i64,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        format!(
            "sluice/v{VERSION}/{}/{}/{}",
            self.table, self.column, self.row
        )
        .into_bytes()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    #[error("SLUICE_SECRETS_KEY is not set: secrets are stored only encrypted, under that key")]
    NoKey,
}

/// Why a sealed value does not open; never holds any of its bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OpenError {
    #[error("sealed under key {0}, but no key is set (SLUICE_SECRETS_KEY)")]
    NoKey(String),
    #[error(
        "sealed under key {sealed}, which is neither SLUICE_SECRETS_KEY ({current}) nor SLUICE_SECRETS_KEY_PREVIOUS ({previous})"
    )]
    UnknownKey {
        sealed: String,
        current: String,
        previous: String,
    },
    #[error("not a sealed value of format version {VERSION}")]
    BadFormat,
    #[error("fails authentication under key {0} (altered, or copied from another row)")]
    Forged(String),
}

/// The current key (seals and opens) and, while rotating, the previous one (opens only).
#[derive(Debug, Default)]
pub struct Keyring {
    current: Option<Key>,
    previous: Option<Key>,
}

impl Keyring {
    /// A keyring; the previous key alone, or twice the same key, is a configuration mistake.
    pub fn new(current: Option<Key>, previous: Option<Key>) -> Result<Keyring, String> {
        match (&current, &previous) {
            (None, Some(_)) => Err(
                "SLUICE_SECRETS_KEY_PREVIOUS is set without SLUICE_SECRETS_KEY: the previous key \
                 only opens; set the new key as SLUICE_SECRETS_KEY"
                    .into(),
            ),
            (Some(c), Some(p)) if c.id == p.id => {
                Err("SLUICE_SECRETS_KEY_PREVIOUS is the same key as SLUICE_SECRETS_KEY".into())
            }
            _ => Ok(Keyring { current, previous }),
        }
    }

    /// Whether a value can be sealed (a current key is set).
    pub fn can_seal(&self) -> bool {
        self.current.is_some()
    }

    /// The current key's id, if any.
    pub fn current_id(&self) -> Option<String> {
        self.current.as_ref().map(Key::id)
    }

    /// Seals `plain` for the place `aad` under the current key, with a fresh random nonce.
    pub fn seal(&self, plain: &[u8], aad: Aad<'_>) -> Result<Vec<u8>, SealError> {
        let key = self.current.as_ref().ok_or(SealError::NoKey)?;
        let nonce = XNonce::generate();
        let aad = aad.bytes();
        let sealed = key
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 seals any message under 256 GiB");
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed for the place `aad`, with whichever key sealed it.
    pub fn open(&self, sealed: &[u8], aad: Aad<'_>) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(OpenError::BadFormat);
        }
        let id = &sealed[1..1 + KEY_ID_LEN];
        let key = [&self.current, &self.previous]
            .into_iter()
            .flatten()
            .find(|k| k.id == id)
            .ok_or_else(|| self.unknown(id))?;
        let nonce = XNonce::try_from(&sealed[1 + KEY_ID_LEN..HEADER_LEN])
            .map_err(|_| OpenError::BadFormat)?;
        let aad = aad.bytes();
        let msg = &sealed[HEADER_LEN..];
        key.cipher()
            .decrypt(&nonce, Payload { msg, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| OpenError::Forged(key.id()))
    }

    /// Whether `sealed` is under the current key (nothing for `secrets rotate` to do).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        self.current
            .as_ref()
            .is_some_and(|k| sealed.len() > KEY_ID_LEN && sealed[1..1 + KEY_ID_LEN] == k.id)
    }

    fn unknown(&self, id: &[u8]) -> OpenError {
        let name = |k: &Option<Key>| k.as_ref().map_or_else(|| "not set".into(), Key::id);
        match self.current {
            None => OpenError::NoKey(hex(id)),
            Some(_) => OpenError::UnknownKey {
                sealed: hex(id),
                current: name(&self.current),
                previous: name(&self.previous),
            },
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
