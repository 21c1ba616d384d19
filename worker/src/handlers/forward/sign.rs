//! What lets a forward target trust a request: the `X-Sluice-Signature` HMAC and the stable
//! `X-Sluice-Delivery-Id` (docs/forwarding.md is the receiver's side).

use sha2::{Digest, Sha256};
use sluice_shared::{job::Origin, mac::hmac_sha256, secret::Secret};

use super::error::ForwardConfigError;

/// Signs forwarded bodies with the current secret and, while rotating, the previous one.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The current secret first: receivers that know only one of the two still find theirs.
    secrets: Vec<Secret>,
}

/// Shorter keys are guessable offline from one captured request; longer than the api's limit
/// serves nobody.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 16..=1024;

impl Signer {
    pub fn new(current: &Secret, previous: Option<&Secret>) -> Result<Signer, ForwardConfigError> {
        let mut secrets = Vec::with_capacity(2);
        for (var, secret) in [
            ("SLUICE_FORWARD_SECRET", Some(current)),
            ("SLUICE_FORWARD_SECRET_PREVIOUS", previous),
        ] {
            let Some(secret) = secret else { continue };
            if !SECRET_BYTES.contains(&secret.expose().len()) {
                return Err(ForwardConfigError::SecretLength(var));
            }
            if !secrets.contains(secret) {
                secrets.push(secret.clone());
            }
        }
        Ok(Signer { secrets })
    }

    /// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, one `v1` per secret: the
    /// timestamp lets a receiver refuse a replayed request, and it is signed with the body.
    pub fn header(&self, unix_secs: u64, body: &[u8]) -> String {
        let t = unix_secs.to_string();
        let mut header = format!("t={t}");
        for secret in &self.secrets {
            let mac = hmac_sha256(secret.expose().as_bytes(), &[t.as_bytes(), b".", body]);
            header.push_str(",v1=");
            header.push_str(&hex::encode(mac));
        }
        header
    }
}

/// The same for every delivery of one update (retries, replays, a re-run after a crash), and
/// different for any other update: 32 hex digits of SHA-256 of the update's deduplication key,
/// `tg:<bot>:<update_id>` or `src:<source>:<event key>`. Hashed because an event key is the
/// provider's text and may hold bytes a header cannot carry.
pub fn delivery_id(origin: &Origin) -> String {
    hex::encode(&Sha256::digest(origin.dedup_key().as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        s.parse().unwrap()
    }

    #[test]
    fn signs_timestamp_dot_body_with_each_secret_current_first() {
        // Expected values computed with Python's hmac module, not with this code.
        let (new, old) = (
            secret("whsec-test-0123456789abcdef"),
            secret("whsec-old-0123456789abcdef"),
        );
        let body = br#"{"update_id":1}"#;
        let one = Signer::new(&new, None).unwrap();
        assert_eq!(
            one.header(1_764_000_000, body),
            "t=1764000000,v1=75f8c1b67155c6d7dcd60f4d568e5866475a41d9ca7eb8063e3a760838811692"
        );
        let two = Signer::new(&new, Some(&old)).unwrap();
        assert_eq!(
            two.header(1_764_000_000, body),
            "t=1764000000,v1=75f8c1b67155c6d7dcd60f4d568e5866475a41d9ca7eb8063e3a760838811692\
             ,v1=fb595e9db9e2685198c35786eb31afd8fddba0e02d9b85dcba26133e207def1f"
        );
        let same = Signer::new(&new, Some(&new)).unwrap();
        assert_eq!(same.header(1, body).matches("v1=").count(), 1);
    }

    #[test]
    fn secrets_are_16_to_1024_bytes_and_never_printed() {
        let short = secret("fifteen-bytes!!");
        let err = Signer::new(&short, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "SLUICE_FORWARD_SECRET must be 16 to 1024 bytes long"
        );
        let ok = secret("sixteen-bytes!!!");
        let err = Signer::new(&ok, Some(&Secret::unchecked(&"x".repeat(1025)))).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("SLUICE_FORWARD_SECRET_PREVIOUS ")
        );
        let debug = format!("{:?}", Signer::new(&ok, None).unwrap());
        assert!(!debug.contains("sixteen"), "{debug}");
    }

    #[test]
    fn delivery_id_is_the_hashed_dedup_key() {
        // sha256("tg:demo:42")[..16] and sha256("src:shop:evt_1")[..16], from Python's hashlib.
        let update = |bot: &str| Origin::Telegram {
            bot: bot.into(),
            update_id: 42,
            chat: Some(1),
            user: None,
        };
        let event = Origin::Signed {
            source: "shop".into(),
            key: "evt_1".into(),
            rate_key: Some("cus_1".into()),
        };
        assert_eq!(
            delivery_id(&update("demo")),
            "4f5d19095aaa1fab34814c5f0467ec4a"
        );
        assert_eq!(delivery_id(&event), "a7fa64c08766e80acf195bf7f448465b");
        assert_ne!(delivery_id(&update("demo")), delivery_id(&update("demo2")));
    }
}
