//! HMAC-SHA256 over the exact bytes that were signed, and the constant-time comparison.

use subtle::{Choice, ConstantTimeEq};

use super::header::Mac;

/// HMAC-SHA256 of the concatenation of `parts` under `key` (shared with the worker's signer).
pub use sluice_shared::mac::hmac_sha256 as sign;

/// Whether any `given` value equals any `expected` one.
///
/// Every pair is compared in constant time and the loop never stops early, so the answer's
/// timing says nothing about how close a forged value came, nor which secret matched.
pub fn any_matches(expected: &[Mac], given: &[Mac]) -> bool {
    let mut found = Choice::from(0);
    for e in expected {
        for g in given {
            found |= e.ct_eq(g);
        }
    }
    found.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> Mac {
        let mut m = [0u8; 32];
        hex::decode_to_slice(s, &mut m).unwrap();
        m
    }

    #[test]
    fn rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let mac = sign(b"Jefe", &[b"what do ya ", b"want for nothing?"]);
        assert_eq!(
            mac,
            hex32("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
    }

    #[test]
    fn github_documentation_vector() {
        // docs.github.com, "Validating webhook deliveries": the example secret and payload.
        let mac = sign(b"It's a Secret to Everybody", &[b"Hello, World!"]);
        assert_eq!(
            mac,
            hex32("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
        );
    }

    #[test]
    fn any_of_several_matches() {
        let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        assert!(any_matches(&[a, b], &[c, b]));
        assert!(!any_matches(&[a, b], &[c]));
        assert!(!any_matches(&[], &[a]));
    }
}
