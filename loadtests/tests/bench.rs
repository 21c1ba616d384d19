//! `sluice-load bench`'s pure parts against what the bash benches produced: the fixtures in
//! `fixtures/bench/` come from one short run of the old scripts (debug binaries, 3 s phases),
//! so these tests hold the Rust benches to the same output shape and the same arithmetic.

mod bench {
    mod admission;
    mod ingress_drain;
    mod ingress_summary;
    mod knobs;
    mod procfs;
    mod redis_probe;
    mod wrk;
}

use std::path::PathBuf;

/// A fixture file's text.
pub fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bench")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A JSON fixture, parsed.
pub fn fixture_json<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Asserts that two JSON documents have the same keys everywhere, the same strings, booleans
/// and nulls, and numbers within `tolerance` (jq wrote `1225`, serde writes `1225.0`).
pub fn assert_json_close(
    path: &str,
    got: &serde_json::Value,
    want: &serde_json::Value,
    tolerance: f64,
) {
    use serde_json::Value;
    match (got, want) {
        (Value::Object(g), Value::Object(w)) => {
            let (gk, wk): (Vec<_>, Vec<_>) = (g.keys().collect(), w.keys().collect());
            assert_eq!(gk, wk, "keys of {path}");
            for (k, v) in w {
                assert_json_close(&format!("{path}.{k}"), &g[k], v, tolerance);
            }
        }
        (Value::Array(g), Value::Array(w)) => {
            assert_eq!(g.len(), w.len(), "length of {path}");
            for (i, (g, w)) in g.iter().zip(w).enumerate() {
                assert_json_close(&format!("{path}[{i}]"), g, w, tolerance);
            }
        }
        (Value::Number(g), Value::Number(w)) => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            assert!((g - w).abs() <= tolerance, "{path}: {g} vs {w}");
        }
        (g, w) => assert_eq!(g, w, "{path}"),
    }
}
