//! The console's OpenAPI document: valid OpenAPI (checked by a real validator), covering every
//! API route of the router's table and nothing else, equal to the committed
//! `docs/console/openapi.json`, and true to the flattened registry listings it describes by
//! hand. Serving it behind the guard is tested in the api's suite (api/tests/it/console).

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant, SystemTime},
};

use serde_json::Value;
use sluice_console::{
    openapi,
    router::route_table,
    routes::{
        Access,
        bots::{BotAnswer, SourceAnswer},
    },
};
use sluice_shared::registry::{bots::Listed as BotListed, sources::manage::Listed as SourceListed};

fn document() -> Value {
    serde_json::from_str(&openapi::json()).unwrap()
}

#[test]
fn the_document_is_valid_openapi_by_openapi_spec_validator() {
    let doc = document();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let file = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console-openapi.json");
    std::fs::write(&file, openapi::json()).unwrap();
    let out = Command::new(validator())
        .args(["--schema", "3.1"])
        .arg(&file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the validator refused it:\n{text}");
    assert!(text.contains("OK"), "{text}");
}

/// A route added to the table without `#[utoipa::path]` (and its line in `ApiDoc`) fails here.
#[test]
fn every_api_route_is_documented_and_every_documented_operation_is_an_api_route() {
    let routes: BTreeSet<(String, String)> = route_table()
        .into_iter()
        .filter(|r| r.access == Access::Api)
        .map(|r| (r.method.as_str().to_lowercase(), r.path))
        .collect();
    assert!(routes.len() > 10, "{routes:?}");
    let doc = document();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(method).is_some() {
                documented.insert((method.to_owned(), path.clone()));
            }
        }
    }
    let undocumented: Vec<_> = routes.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routes).collect();
    assert!(
        undocumented.is_empty(),
        "API routes missing from console/src/openapi.rs: {undocumented:?}"
    );
    assert!(
        unrouted.is_empty(),
        "documented but not an API route: {unrouted:?}"
    );
}

#[test]
fn every_change_documents_the_csrf_refusal_and_every_operation_the_guards() {
    let doc = document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for status in ["401", "429", "503"] {
                assert!(responses.contains_key(status), "{method} {path}: {status}");
            }
            assert_eq!(
                responses.contains_key("403"),
                method != "get",
                "{method} {path}"
            );
        }
    }
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/console/openapi.json");
    let generated = openapi::json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&committed, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&committed).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/console/openapi.json differs from the document the code generates; regenerate it \
         with: UPDATE_OPENAPI=1 cargo test -p sluice-console --test openapi committed"
    );
}

/// The shared listings are described by hand (`BotListedDoc`, `SourceListedDoc`): their JSON
/// keys must be the documented properties, so a field added to either fails here.
#[test]
fn the_answers_with_registry_listings_have_exactly_their_documented_fields() {
    let at = chrono::DateTime::from_timestamp(1_796_299_200, 0).unwrap();
    let bot = BotAnswer::from(BotListed {
        name: "alpha".into(),
        created_at: at,
        rate_per_sec: Some(1.0),
        burst: Some(2),
        forward_url: None,
        forward_secret: false,
        updated_at: at,
        has_token: true,
    });
    let source = SourceAnswer {
        source: SourceListed {
            name: "gh".into(),
            scheme: "github",
            lane: "normal".into(),
            idempotency: None,
            kind: None,
            rate_key: None,
            tolerance_s: 300,
            next_secret_pending: false,
        },
        created_at: at,
        webhook_path: "/webhook/hooks/gh".into(),
    };
    let doc = document();
    for (schema, value) in [
        ("BotAnswer", serde_json::to_value(bot).unwrap()),
        ("SourceAnswer", serde_json::to_value(source).unwrap()),
    ] {
        let keys: BTreeSet<String> = value.as_object().unwrap().keys().cloned().collect();
        let mut documented = BTreeSet::new();
        properties(&doc, &doc["components"]["schemas"][schema], &mut documented);
        assert_eq!(keys, documented, "{schema}");
    }
}

/// The property names of `schema`, through `$ref`s and `allOf`.
fn properties(doc: &Value, schema: &Value, out: &mut BTreeSet<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.rsplit('/').next().unwrap();
        return properties(doc, &doc["components"]["schemas"][name], out);
    }
    if let Some(props) = schema["properties"].as_object() {
        out.extend(props.keys().cloned());
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        properties(doc, part, out);
    }
}

/// `openapi-spec-validator` at the version pinned in tests/openapi/requirements.txt, in a venv
/// cached under target/tmp (reinstalled when the pin changes). Concurrent test processes wait
/// for one install (a `mkdir` lock).
fn validator() -> PathBuf {
    let pins = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/openapi/requirements.txt");
    let pinned = std::fs::read_to_string(&pins).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("openapi-validator");
    let ready = dir.join(".installed");
    let lock = dir.with_extension("lock");
    let until = Instant::now() + Duration::from_secs(600);
    loop {
        if std::fs::read_to_string(&ready).is_ok_and(|p| p == pinned) {
            return dir.join("bin/openapi-spec-validator");
        }
        if std::fs::create_dir(&lock).is_ok() {
            let _ = std::fs::remove_dir_all(&dir);
            run(Command::new("python3").args(["-m", "venv"]).arg(&dir));
            run(Command::new(dir.join("bin/pip"))
                .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
                .arg(&pins));
            std::fs::write(&ready, &pinned).unwrap();
            std::fs::remove_dir(&lock).unwrap();
            continue;
        }
        // A lock left by a killed run is older than any install.
        let age = std::fs::metadata(&lock)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if age.is_some_and(|a| a > Duration::from_secs(900)) {
            let _ = std::fs::remove_dir(&lock);
        }
        assert!(Instant::now() < until, "waited 10 min for the validator");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// An install step; its failure (no registry, no python3-venv) fails the test.
fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} did not start ({e}): see scripts/test"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
