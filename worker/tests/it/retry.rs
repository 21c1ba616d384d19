//! Our retry policy and dead letters, driven through the `forward` handler against a local
//! HTTP server that fails on purpose.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::common::{enqueuer, envelope, row_stats, spawn_worker, worker_cli};

/// Serves `app` on a free loopback port: the URL of its `/hook` and the server task.
async fn serve_hook(app: Router) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    (url, tokio::spawn(axum::serve(listener, app).into_future()))
}

/// How the fake bot answers each update_id, and how often it was called.
#[derive(Clone, Default)]
struct Target {
    calls: Arc<Mutex<HashMap<i64, u32>>>,
    healed: Arc<Mutex<bool>>,
}

async fn bot(State(t): State<Target>, headers: HeaderMap, _body: Bytes) -> StatusCode {
    let id: i64 = headers["x-sluice-update-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let n = {
        let mut calls = t.calls.lock().unwrap();
        let n = calls.entry(id).or_default();
        *n += 1;
        *n
    };
    if *t.healed.lock().unwrap() {
        return StatusCode::OK;
    }
    match id {
        1 => StatusCode::OK,
        2 if n <= 2 => StatusCode::INTERNAL_SERVER_ERROR, // transient, then fine
        2 => StatusCode::OK,
        3 => StatusCode::UNPROCESSABLE_ENTITY, // permanent: dead at once
        _ => StatusCode::SERVICE_UNAVAILABLE,  // always failing: dead after max attempts
    }
}

#[tokio::test]
async fn transient_failures_retry_permanent_ones_die_and_replay_makes_no_duplicates() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let target = Target::default();
    let (url, server) = serve_hook(
        Router::new()
            .route("/hook", post(bot))
            .with_state(target.clone()),
    )
    .await;
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", url.as_str()),
        ("SLUICE_FORWARD_SECRET", crate::target::SECRET),
        ("SLUICE_RETRY_MAX_ATTEMPTS", "3"),
        ("SLUICE_RETRY_BASE", "200ms"),
        ("SLUICE_RETRY_MAX", "1000ms"),
        ("SLUICE_VACUUM_INTERVAL", "200ms"),
    ];
    let worker = spawn_worker(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    for id in 1..=4 {
        enq.enqueue(&envelope("flaky", id, Lane::Normal))
            .await
            .unwrap();
    }

    let calls = |id: i64| target.calls.lock().unwrap().get(&id).copied().unwrap_or(0);
    assert!(
        wait_until(Duration::from_secs(30), || async {
            calls(4) >= 3 && calls(2) >= 3
        })
        .await,
        "retries ran"
    );
    let listed = wait_until(Duration::from_secs(10), || async {
        worker_cli(&redis, &prefix, &["dlq", "list"])
            .await
            .contains("2 dead letter(s) shown")
    })
    .await;
    let list = worker_cli(&redis, &prefix, &["dlq", "list", "--lane", "normal"]).await;
    assert!(listed, "{list}");
    assert_eq!(
        (calls(1), calls(2), calls(3), calls(4)),
        (1, 3, 1, 3),
        "1 ok, 2 retried twice, 3 dead at once, 4 dead after 3 attempts"
    );
    assert!(
        list.contains("permanent: forward target answered 422"),
        "{list}"
    );
    assert!(list.contains("gave up after 3 attempts"), "{list}");
    let metrics = worker.metrics().await;
    for outcome in ["done", "retried", "dead"] {
        assert!(
            metrics.contains(&format!(r#"outcome="{outcome}""#)),
            "{outcome} missing:\n{metrics}"
        );
    }

    // The bot is fixed: replaying the dead letters delivers them, and the rows stay unique.
    *target.healed.lock().unwrap() = true;
    let id = list
        .lines()
        .find(|l| l.contains("flaky/3\t"))
        .and_then(|l| l.split('\t').next())
        .unwrap()
        .to_owned();
    let out = worker_cli(&redis, &prefix, &["dlq", "replay", &id, "nonexistent"]).await;
    assert!(
        out.contains("replayed 1 dead letter(s); 1 not found"),
        "{out}"
    );
    let out = worker_cli(&redis, &prefix, &["dlq", "replay", "--all"]).await;
    assert!(out.contains("replayed 1 dead letter(s)"), "{out}");
    assert!(
        wait_until(Duration::from_secs(15), || async {
            calls(3) == 2 && calls(4) == 4
        })
        .await
    );
    assert_eq!(
        row_stats(&db.pool).await,
        (4, 4),
        "replay made no duplicate rows"
    );
    let out = worker_cli(&redis, &prefix, &["dlq", "purge", "--older-than", "0s"]).await;
    assert!(out.contains("purged 0 dead letter(s)"), "{out}");
    assert!(
        worker_cli(&redis, &prefix, &["dlq", "list"])
            .await
            .contains("0 dead letter(s) shown")
    );
    server.abort();
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn purge_removes_old_dead_letters() {
    let (redis, prefix) = (redis_url(), prefix());
    let conn = sluice_shared::queue::connect(&redis, Duration::from_secs(5)).unwrap();
    let dead = sluice_shared::dlq::DeadLetters::new(conn, &prefix);
    let day = 86_400_000;
    let now = chrono_ms();
    for (i, age_days) in [(1, 10), (2, 8), (3, 1)] {
        let letter = sluice_shared::dlq::DeadLetter {
            id: format!("id{i}"),
            reason: "test".into(),
            dead_at_ms: now - age_days * day,
            envelope: envelope("old", i, Lane::Low),
        };
        dead.put(&letter).await.unwrap();
    }
    let out = worker_cli(&redis, &prefix, &["dlq", "purge", "--older-than", "7d"]).await;
    assert!(out.contains("purged 2 dead letter(s)"), "{out}");
    assert_eq!(dead.sizes().await.unwrap().into_array(), [0, 0, 1]);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}

fn chrono_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// When each update_id was called.
type Calls = Arc<Mutex<HashMap<i64, Vec<std::time::Instant>>>>;

/// The first answer to each update is a 429 with an outlandish `Retry-After`; then 200.
async fn slow_down(State(calls): State<Calls>, headers: HeaderMap) -> (StatusCode, HeaderMap) {
    let id: i64 = headers["x-sluice-update-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let first = {
        let mut calls = calls.lock().unwrap();
        let seen = calls.entry(id).or_default();
        seen.push(std::time::Instant::now());
        seen.len() == 1
    };
    let mut answer = HeaderMap::new();
    if !first {
        return (StatusCode::OK, answer);
    }
    let retry_after = if id == 1 {
        "18446744073709551615" // u64::MAX seconds: overflowed the clock and killed the lane
    } else {
        "99999999999" // 3 000 years
    };
    answer.insert("retry-after", retry_after.parse().unwrap());
    (StatusCode::TOO_MANY_REQUESTS, answer)
}

#[tokio::test]
async fn an_outlandish_retry_after_is_clamped_to_the_retry_maximum() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let calls = Calls::default();
    let (url, server) = serve_hook(
        Router::new()
            .route("/hook", post(slow_down))
            .with_state(calls.clone()),
    )
    .await;
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", url.as_str()),
        ("SLUICE_FORWARD_SECRET", crate::target::SECRET),
        ("SLUICE_RETRY_BASE", "200ms"),
        ("SLUICE_RETRY_MAX", "2000ms"),
    ];
    let worker = spawn_worker(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    for id in 1..=2 {
        enq.enqueue(&envelope("impatient", id, Lane::Normal))
            .await
            .unwrap();
    }
    let gaps = || {
        let calls = calls.lock().unwrap();
        [1, 2].map(|id| match calls.get(&id).map(Vec::as_slice) {
            Some([first, second, ..]) => Some(*second - *first),
            _ => None,
        })
    };
    let retried = wait_until(Duration::from_secs(20), || async {
        gaps().iter().all(Option::is_some)
    })
    .await;
    assert!(retried, "both retried: {:?}", gaps());
    for gap in gaps().into_iter().flatten() {
        // The maximum, plus apalis-redis's whole-second scheduling and a poll.
        assert!(gap <= Duration::from_millis(2000 + 1000 + 500), "{gap:?}");
    }
    // A later update still runs: the lane is alive, and so is the process.
    enq.enqueue(&envelope("impatient", 3, Lane::Normal))
        .await
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || async {
            db.update_rows().await == 3
        })
        .await
    );
    let health = reqwest::get(format!("http://127.0.0.1:{}/healthz", worker.admin_port))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let metrics = worker.metrics().await;
    let panicked = metrics.lines().any(|l| {
        l.starts_with(sluice_shared::metrics::WORKER_RESTARTS_TOTAL) && l.contains("panic")
    });
    assert!(!panicked, "no lane panicked:\n{metrics}");
    server.abort();
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
