//! A property test of the whole ingress path: the real `sluice-api` binary (real Redis and
//! Postgres) takes arbitrary requests ([`inputs`]) over HTTP while the real `sluice-worker`
//! binary drains.
//!
//! Properties, per request: no panic; no 5xx but a 503 `{"ok":false,"error":"retry"}`; every
//! answer is our JSON shape. After the run: every 2xx has its row (`updates` or `events`), and a
//! new update's row holds what was acknowledged (same `update_id` in the column and in the
//! payload, the payload equal to the body as Postgres reads it).
//!
//! `PROPTEST_CASES` overrides the case count (default 1 200, about a minute in CI).

mod inputs;
mod json;
mod rows;

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::{
    api::{ApiProc, add_bot, add_source, spawn_api},
    common::spawn_worker,
};
use inputs::{BOT, Req, SECRET, SOURCE, SOURCE_SECRET};
use rows::{Promise, unkept};

async fn start_api(db: &TestDb, prefix: &str) -> ApiProc {
    add_bot(&db.url, BOT, SECRET).await;
    add_source(&db.url, SOURCE, "github", SOURCE_SECRET, &[]).await;
    // Limits are not what this test is about; with them, most updates would be 429s.
    let env = [("SLUICE_RATE_SCOPE", "off")];
    spawn_api(&db.url, &redis_url(), prefix, &env).await
}

/// The idempotency key of a signed event whose source names none, as the api documents it
/// (`sources add --idempotency-pointer`): `sha256:<hex of the body>`.
fn sha256_key(body: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(body)))
}

/// Headers the HTTP client owns: the body's framing and the connection's. Sent as random values
/// they would make a malformed request that never reaches the api (hyper answers it).
const CLIENT_OWNED: [&str; 9] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "host",
];

/// Answers seen, by status and error code, to show what the run exercised.
type Seen = Arc<Mutex<BTreeMap<String, u32>>>;

/// Sends one request to the api at `base` and checks the answer; returns what a 2xx promised.
async fn one(
    client: &reqwest::Client,
    base: &str,
    req: Req,
    seen: &Seen,
) -> Result<Option<Promise>, TestCaseError> {
    let url = reqwest::Url::parse(&format!("{base}{}", req.path))
        .map_err(|e| TestCaseError::reject(format!("{}: {e}", req.path)))?;
    let mut http = client.request(req.method.clone(), url);
    for (k, v) in &req.headers {
        if !CLIENT_OWNED.contains(&k.as_str()) {
            http = http.header(k, v);
        }
    }
    let resp = http
        .body(req.body.clone())
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("no answer to {req:?}: {e}")))?;
    let status = resp.status();
    let bytes = resp.bytes().await.unwrap();
    if req.method == reqwest::Method::HEAD && bytes.is_empty() {
        // A HEAD answer has no body (axum drops it); its status is checked all the same.
        return match status.is_server_error() || status.is_success() {
            true => Err(TestCaseError::fail(format!("HEAD answered {status}"))),
            false => Ok(None),
        };
    }
    let answer: Value = serde_json::from_slice(&bytes).map_err(|_| {
        TestCaseError::fail(format!(
            "{status}: not JSON: {:?}",
            String::from_utf8_lossy(&bytes)
        ))
    })?;
    let error = answer["error"].as_str().unwrap_or_default();
    *seen
        .lock()
        .unwrap()
        .entry(format!("{} {error}", status.as_u16()))
        .or_default() += 1;
    if status.is_server_error() && !(status == 503 && error == "retry") {
        return Err(TestCaseError::fail(format!("{status} {answer}")));
    }
    if answer["ok"] != Value::Bool(status.is_success()) {
        return Err(TestCaseError::fail(format!("{status} with {answer}")));
    }
    if !status.is_success() || answer["dropped"] == Value::Bool(true) {
        return Ok(None);
    }
    Ok(Some(if req.path.starts_with("/webhook/hooks/") {
        Promise::Event {
            key: sha256_key(&req.body),
        }
    } else {
        let update_id = sluice_shared::telegram::classify(&req.body)
            .map_err(|e| TestCaseError::fail(format!("2xx for a non-update: {e}")))?
            .update_id;
        match answer["id"].as_str() {
            Some(_) => Promise::Update {
                update_id,
                body: String::from_utf8(req.body).unwrap(),
            },
            None => Promise::Seen { update_id },
        }
    }))
}

#[test]
fn arbitrary_requests_never_panic_never_500_and_every_2xx_gets_its_row() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(TestDb::fresh()).unwrap();
    let prefix = prefix();
    let mut api = rt.block_on(start_api(&db, &prefix));
    let client = reqwest::Client::new();
    let mut worker = rt.block_on(async { spawn_worker(&db.url, &redis_url(), &prefix, &[]) });
    let dead = rt.block_on(async {
        let conn = sluice_shared::queue::connect(&redis_url(), Duration::from_secs(5)).unwrap();
        sluice_shared::dlq::DeadLetters::new(conn, &prefix)
    });

    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1200);
    let promises = Arc::new(Mutex::new(Vec::new()));
    let seen = Seen::default();
    let mut runner = TestRunner::new(Config {
        // A failure prints its minimal request; there is no source file to keep it next to.
        failure_persistence: None,
        ..Config::with_cases(cases)
    });
    let result = runner.run(&inputs::request(), |req| {
        let promise = rt.block_on(one(&client, &api.base, req, &seen))?;
        promises.lock().unwrap().extend(promise);
        Ok(())
    });
    let promises = promises.lock().unwrap().clone();
    eprintln!(
        "fuzz: {} 2xx promises; answers: {:?}",
        promises.len(),
        seen.lock().unwrap()
    );
    result.unwrap();

    // Every 2xx gets its row once the worker has drained.
    rt.block_on(wait_until(Duration::from_secs(90), || async {
        unkept(&db, &dead, &promises).await.is_empty()
    }));
    let bad = rt.block_on(unkept(&db, &dead, &promises));
    rt.block_on(async {
        worker.kill9().await;
        api.kill().await;
        sluice_testkit::clear_prefix(&redis_url(), &prefix).await;
    });
    assert!(
        bad.is_empty(),
        "{} of {} acknowledged deliveries without a faithful row:\n{}",
        bad.len(),
        promises.len(),
        bad.join("\n")
    );
    rt.block_on(db.drop_db());
}
