//! What the Postgres comparison (`shared/tests/jsonb_matches_postgres.rs`) cannot show cheaply:
//! the stricter rules, the cost on hostile shapes, and no panic on any bytes.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

#[test]
fn repeated_keys_are_found_at_any_depth_and_after_unescaping() {
    let dup = |k: &str| Err(JsonbError::DuplicateKey(k.into()));
    assert_eq!(check(br#"{"update_id":1,"update_id":2}"#), dup("update_id"));
    assert_eq!(check(br#"{"a":1,"\u0061":2}"#), dup("a"));
    assert_eq!(
        check(br#"{"m":{"chat":{"id":1},"x":[{"k":1,"k":2}]}}"#),
        dup("k")
    );
    // The same key in sibling or nested objects is no repeat.
    assert_eq!(
        check(br#"{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}"#),
        Ok(())
    );
    // Strings that are values never count as keys.
    assert_eq!(check(br#"{"a":"a","b":["a","a"],"c":{"a":"b"}}"#), Ok(()));
    let long = "é".repeat(100);
    let body = format!(r#"{{"{long}":1,"{long}":2}}"#);
    let Err(JsonbError::DuplicateKey(shown)) = check(body.as_bytes()) else {
        panic!("a repeat");
    };
    assert!(shown.len() <= 64 && long.starts_with(&shown), "{shown}");
}

#[test]
fn depth_counts_arrays_and_objects_alike() {
    let nest = |d: usize| format!("{}{}", r#"[{"a":"#.repeat(d / 2), "}]".repeat(d / 2));
    let ok = format!("{}0{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert_eq!(check(ok.as_bytes()), Ok(()));
    assert_eq!(
        check(nest(MAX_DEPTH - 1).replace(":}", ":0}").as_bytes()),
        Ok(())
    );
    assert_eq!(
        check(nest(MAX_DEPTH + 1).as_bytes()),
        Err(JsonbError::TooDeep)
    );
}

#[test]
fn hostile_shapes_stay_cheap() {
    // 1 MiB in the shapes that cost most: one object of short distinct keys, and escaped keys.
    let many: Vec<String> = (0..90_000).map(|n| format!(r#""{n:x}":0"#)).collect();
    let escaped: Vec<String> = (0..40_000).map(|n| format!(r#""\u0061{n}":0"#)).collect();
    for body in [many, escaped] {
        let body = format!("{{{}}}", body.join(","));
        let start = Instant::now();
        assert_eq!(check(body.as_bytes()), Ok(()));
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
    }
}

proptest! {
    #[test]
    fn never_panics_on_bytes(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = check(&body);
    }

    #[test]
    fn never_panics_on_jsonish_text(body in r#"[{}\[\]":,0-9a-fuE.+\-\\ ]{0,200}"#) {
        let _ = check(body.as_bytes());
    }
}
