use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// True if `header` (X-Sluice-Signature) signs `body` under `secret` and is recent.
pub fn verify(secret: &[u8], header: &str, body: &[u8], now_unix: u64) -> bool {
    let fields: Vec<_> = header.split(',').flat_map(|f| f.split_once('=')).collect();
    let ts: Vec<_> = fields.iter().filter(|f| f.0 == "t").collect();
    let [(_, t)] = ts[..] else { return false };
    let Ok(t) = t.parse() else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let valid = |v: &str| hex::decode(v).is_ok_and(|sig| mac.clone().verify_slice(&sig).is_ok());
    now_unix.abs_diff(t) <= 300 && fields.iter().any(|&(k, v)| k == "v1" && valid(v))
}
