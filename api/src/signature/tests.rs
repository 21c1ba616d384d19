//! Unit tests of verification: each scheme accepts what its provider signs and nothing else.

use std::time::Duration;

use axum::http::HeaderMap;

use super::*;

const TOLERANCE: Duration = Duration::from_secs(300);
const NOW: i64 = 1_764_000_000;

fn secret(s: &str) -> Secret {
    s.parse().unwrap()
}

fn headers(name: &str, value: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
        value.parse().unwrap(),
    );
    h
}

fn check(
    scheme: Scheme,
    h: &HeaderMap,
    secrets: &[Secret],
    body: &'static [u8],
) -> Result<Verified, SignatureError> {
    Unverified::from_headers(scheme, h)?.verify(secrets, Bytes::from_static(body), NOW, TOLERANCE)
}

fn stripe_sig(key: &str, t: i64, body: &[u8]) -> String {
    hex::encode(hmac::sign(
        key.as_bytes(),
        &[t.to_string().as_bytes(), b".", body],
    ))
}

#[test]
fn github_documentation_vector_verifies() {
    let h = headers(
        "X-Hub-Signature-256",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    );
    let s = [secret("It's a Secret to Everybody")];
    let v = check(Scheme::Github, &h, &s, b"Hello, World!").unwrap();
    assert_eq!(v.body().as_ref(), b"Hello, World!");
    assert!(v.replay_stamp().is_none(), "github has no timestamp");
    // One byte off, or another secret: refused.
    assert_eq!(
        check(Scheme::Github, &h, &s, b"Hello, World?").unwrap_err(),
        SignatureError::Mismatch("x-hub-signature-256")
    );
    assert!(
        check(
            Scheme::Github,
            &h,
            &[secret("It's a secret to everybody")],
            b"Hello, World!"
        )
        .is_err()
    );
}

#[test]
fn a_reserialized_body_does_not_verify() {
    let signed = br#"{"b": 1, "a": 2}"#;
    let mac = hex::encode(hmac::sign(b"k", &[signed]));
    let h = headers("X-Signature", &mac);
    assert!(check(Scheme::Plain, &h, &[secret("k")], signed).is_ok());
    assert!(matches!(
        check(Scheme::Plain, &h, &[secret("k")], br#"{"a":2,"b":1}"#),
        Err(SignatureError::Mismatch(_))
    ));
}

#[test]
fn missing_and_malformed_headers_are_told_apart() {
    let none = HeaderMap::new();
    assert_eq!(
        Unverified::from_headers(Scheme::Stripe, &none).unwrap_err(),
        SignatureError::Missing("stripe-signature")
    );
    let bad = headers("X-Hub-Signature-256", "sha1=0123");
    assert!(matches!(
        Unverified::from_headers(Scheme::Github, &bad).unwrap_err(),
        SignatureError::Malformed { .. }
    ));
}

#[test]
fn stripe_checks_signature_then_freshness() {
    let body: &'static [u8] = br#"{"id":"evt_1","type":"invoice.paid"}"#;
    let s = [secret("whsec_test")];
    let ok = headers(
        "Stripe-Signature",
        &format!("t={NOW},v1={}", stripe_sig("whsec_test", NOW, body)),
    );
    let v = check(Scheme::Stripe, &ok, &s, body).unwrap();
    let stamp = v.replay_stamp().unwrap();
    assert_eq!(stamp.window, TOLERANCE);

    // Signed 301 s ago, or 301 s ahead: stale, though the signature is right.
    for t in [NOW - 301, NOW + 301] {
        let h = headers(
            "Stripe-Signature",
            &format!("t={t},v1={}", stripe_sig("whsec_test", t, body)),
        );
        assert_eq!(
            check(Scheme::Stripe, &h, &s, body).unwrap_err(),
            SignatureError::Stale {
                skew_s: 301,
                tolerance_s: 300
            }
        );
    }
    // Within the window: accepted, and the stamp lasts until t + tolerance.
    let t = NOW - 100;
    let h = headers(
        "Stripe-Signature",
        &format!("t={t},v1={}", stripe_sig("whsec_test", t, body)),
    );
    let v = check(Scheme::Stripe, &h, &s, body).unwrap();
    assert_eq!(v.replay_stamp().unwrap().window, Duration::from_secs(200));
    assert_ne!(v.replay_stamp().unwrap().digest, stamp.digest);

    // The timestamp is signed: moving it breaks the signature.
    let moved = headers(
        "Stripe-Signature",
        &format!("t={},v1={}", NOW + 1, stripe_sig("whsec_test", NOW, body)),
    );
    assert!(matches!(
        check(Scheme::Stripe, &moved, &s, body),
        Err(SignatureError::Mismatch(_))
    ));
}

#[test]
fn rotation_accepts_either_secret() {
    let body: &'static [u8] = br#"{"id":"evt_2"}"#;
    let both = [secret("old"), secret("new")];
    for key in ["old", "new"] {
        let h = headers(
            "X-Signature",
            &hex::encode(hmac::sign(key.as_bytes(), &[body])),
        );
        assert!(check(Scheme::Plain, &h, &both, body).is_ok(), "{key}");
        assert!(check(Scheme::Plain, &h, &both[..1], body).is_ok() == (key == "old"));
    }
    // Stripe signs with every active secret during its own rotation: one v1 per secret.
    let h = headers(
        "Stripe-Signature",
        &format!(
            "t={NOW},v1={},v1={}",
            stripe_sig("unknown", NOW, body),
            stripe_sig("new", NOW, body)
        ),
    );
    assert!(check(Scheme::Stripe, &h, &both, body).is_ok());
    assert!(check(Scheme::Stripe, &h, &both[..1], body).is_err());
}

#[test]
fn secrets_never_show_in_debug_output() {
    let s = secret("hunter2");
    assert!(!format!("{s:?}").contains("hunter2"));
    assert!("".parse::<Secret>().is_err());
}

mod props {
    use proptest::prelude::*;

    use super::*;

    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![0x20u8..0x7f, Just(b'\t'), 0x80u8..=0xff],
            0..200,
        )
    }

    proptest! {
        /// Any header value a client can send gives a claim or a 401 reason, never a panic.
        #[test]
        fn any_header_value_is_read_without_panic(raw in header_bytes(), body in any::<Vec<u8>>()) {
            for scheme in [Scheme::Github, Scheme::Stripe, Scheme::Plain] {
                let mut h = HeaderMap::new();
                h.insert(scheme.header(), axum::http::HeaderValue::from_bytes(&raw).unwrap());
                if let Ok(claim) = Unverified::from_headers(scheme, &h) {
                    let _ = claim.verify(&[secret("k")], Bytes::from(body.clone()), NOW, TOLERANCE);
                }
            }
        }

        /// What a provider signs verifies, over any body and secret; one byte more does not.
        #[test]
        fn signed_bodies_verify_and_altered_ones_do_not(
            key in "[ -~]{1,64}",
            body in any::<Vec<u8>>(),
            skew in -300i64..=300,
        ) {
            let t = NOW + skew;
            let mac = hex::encode(hmac::sign(key.as_bytes(), &[&body]));
            let stripe = hex::encode(hmac::sign(key.as_bytes(), &[t.to_string().as_bytes(), b".", &body]));
            let cases = [
                (Scheme::Github, format!("sha256={mac}")),
                (Scheme::Plain, mac.to_uppercase()),
                (Scheme::Stripe, format!("t={t},v1={stripe}")),
            ];
            let secrets = [secret(&key)];
            for (scheme, value) in cases {
                let mut h = HeaderMap::new();
                h.insert(scheme.header(), value.parse().unwrap());
                let ok = Unverified::from_headers(scheme, &h).unwrap()
                    .verify(&secrets, Bytes::from(body.clone()), NOW, TOLERANCE);
                prop_assert!(ok.is_ok(), "{scheme:?}: {ok:?}");
                let mut altered = body.clone();
                altered.push(b' ');
                let bad = Unverified::from_headers(scheme, &h).unwrap()
                    .verify(&secrets, Bytes::from(altered), NOW, TOLERANCE);
                prop_assert_eq!(bad.unwrap_err(), SignatureError::Mismatch(scheme.header()));
            }
        }
    }
}
