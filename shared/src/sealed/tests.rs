use super::*;

const A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

fn key(s: &str) -> Key {
    Key::from_base64(s).unwrap()
}

fn place(row: i64) -> Aad<'static> {
    Aad {
        table: "bots",
        column: "token",
        row,
    }
}

#[test]
fn sealed_values_open_only_at_their_place_and_under_their_key() {
    let ring = Keyring::new(Some(key(A)), None).unwrap();
    let sealed = ring.seal(b"123:token", place(7)).unwrap();
    assert_eq!(sealed[0], VERSION);
    assert!(!sealed.windows(9).any(|w| w == b"123:token"));
    assert_eq!(
        ring.open(&sealed, place(7)).unwrap().as_slice(),
        b"123:token"
    );
    // Another row, another column: refused.
    assert!(matches!(
        ring.open(&sealed, place(8)),
        Err(OpenError::Forged(_))
    ));
    let other_col = Aad {
        column: "secret",
        ..place(7)
    };
    assert!(matches!(
        ring.open(&sealed, other_col),
        Err(OpenError::Forged(_))
    ));
    // Two seals of one value differ (fresh nonce).
    assert_ne!(sealed, ring.seal(b"123:token", place(7)).unwrap());
    // A flipped bit anywhere is refused.
    let mut bad = sealed.clone();
    *bad.last_mut().unwrap() ^= 1;
    assert!(ring.open(&bad, place(7)).is_err());
    assert_eq!(
        ring.open(&sealed[..20], place(7)),
        Err(OpenError::BadFormat)
    );
}

#[test]
fn rotation_opens_with_the_previous_key_and_seals_with_the_current() {
    let old = Keyring::new(Some(key(A)), None).unwrap();
    let sealed = old.seal(b"s", place(1)).unwrap();
    let rotating = Keyring::new(Some(key(B)), Some(key(A))).unwrap();
    assert!(!rotating.is_current(&sealed));
    assert_eq!(rotating.open(&sealed, place(1)).unwrap().as_slice(), b"s");
    let resealed = rotating.seal(b"s", place(1)).unwrap();
    assert!(rotating.is_current(&resealed));
    let new_only = Keyring::new(Some(key(B)), None).unwrap();
    let err = new_only.open(&sealed, place(1)).unwrap_err().to_string();
    assert!(
        err.contains(&key(A).id()) && err.contains(&key(B).id()),
        "{err}"
    );
    let none = Keyring::default();
    assert!(matches!(
        none.open(&sealed, place(1)),
        Err(OpenError::NoKey(_))
    ));
    assert_eq!(none.seal(b"s", place(1)), Err(SealError::NoKey));
}

#[test]
fn bad_keys_are_refused_naming_the_variable_never_the_value() {
    let cfg = |cur: Option<&str>, prev: Option<&str>| SecretsConfig {
        secrets_key: cur.map(config::RawKey::new),
        secrets_key_previous: prev.map(config::RawKey::new),
    };
    let short = "c2hvcnQta2V5LVRPUFNFQ1JFVA==";
    for (c, var) in [
        (cfg(Some(short), None), "SLUICE_SECRETS_KEY:"),
        (
            cfg(Some("not base64 TOPSECRET"), None),
            "SLUICE_SECRETS_KEY:",
        ),
        (cfg(Some(A), Some(short)), "SLUICE_SECRETS_KEY_PREVIOUS:"),
        (cfg(None, Some(A)), "without SLUICE_SECRETS_KEY"),
        (cfg(Some(A), Some(A)), "the same key"),
    ] {
        let e = c.keyring().unwrap_err();
        assert!(e.contains(var), "{e}");
        assert!(
            !e.contains("TOPSECRET") && !e.contains(short) && !e.contains(A),
            "{e}"
        );
    }
    assert!(cfg(None, None).keyring().unwrap().current_id().is_none());
    assert_eq!(
        format!("{:?}", cfg(Some(A), None))
            .matches("redacted")
            .count(),
        1
    );
    assert_eq!(format!("{:?}", key(A)), format!("Key(id={})", key(A).id()));
}
