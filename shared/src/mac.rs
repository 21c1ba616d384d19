//! HMAC-SHA256, the one MAC sluice computes: the api checks signed webhooks with it and the
//! worker signs forwarded requests with it.

use hmac::{Hmac, KeyInit, Mac as _};
use sha2::Sha256;

/// An HMAC-SHA256 value.
pub type Mac = [u8; 32];

/// HMAC-SHA256 of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Mac {
    // HMAC accepts keys of any length (long keys are hashed first): this cannot fail.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
