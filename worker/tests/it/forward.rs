//! The `forward` handler against a real local HTTP target: redirects are failures, the target's
//! URL (and a token in it) never reaches a log or a dead letter, and a URL that cannot work stops
//! start-up. Signing is in `forward_signing`.

use std::{collections::BTreeSet, convert::Infallible, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{Method, StatusCode, header::LOCATION},
    response::{IntoResponse, Response},
};
use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::{
    common::{
        enqueuer, envelope, jobs_done, spawn_worker, spawn_worker_logged, wait_for_dead_letters,
    },
    target::{SECRET, Target},
};

fn redirect(status: StatusCode, to: &str) -> Response {
    (status, [(LOCATION, to.to_owned())]).into_response()
}

#[tokio::test]
async fn redirects_are_failures_and_never_followed() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    // Update 1 is sent elsewhere for now (302), update 2's target moved for good (301). On
    // /landing a GET would be answered 200: that is what a followed redirect used to count as
    // "delivered".
    let target = Target::start(|seen| match seen.update_id() {
        Some(1) => redirect(StatusCode::FOUND, "/landing?token=s3cr3t-location"),
        Some(2) => redirect(StatusCode::MOVED_PERMANENTLY, "/moved"),
        _ => StatusCode::OK.into_response(),
    })
    .await;
    let url = format!("{}/hook?token=s3cr3t-url", target.base);
    let env = quick_retries(&url);
    let (worker, log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    for id in [1, 2] {
        enq.enqueue(&envelope("moved", id, Lane::Normal))
            .await
            .unwrap();
    }

    let (dead, list) = wait_for_dead_letters(&redis, &prefix, 2, Duration::from_secs(20)).await;
    let seen = target.seen();
    let methods: Vec<_> = seen
        .iter()
        .map(|s| (s.method.as_str(), s.uri.as_str()))
        .collect();
    assert!(
        seen.iter().all(|s| s.method == Method::POST),
        "a redirect was followed: {methods:?}"
    );
    assert!(
        dead,
        "both updates end in the dead letters:\n{list}\n{methods:?}"
    );
    let posts = |id| seen.iter().filter(|s| s.update_id() == Some(id)).count();
    assert_eq!(
        (posts(1), posts(2)),
        (2, 1),
        "302 retried, 301 dead at once"
    );
    assert!(
        list.contains("gave up after 2 attempts: forward target answered 302 Found"),
        "{list}"
    );
    assert!(
        list.contains(
            "permanent: forward target answered 301 Moved Permanently; redirects are not \
             followed (fix SLUICE_FORWARD_URL)"
        ),
        "{list}"
    );
    assert_eq!(
        jobs_done(&worker.metrics().await),
        0.0,
        "nothing counted as delivered"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    for text in [&list, &log] {
        assert!(
            !text.contains("s3cr3t"),
            "the URL or Location leaked:\n{text}"
        );
    }
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[tokio::test]
async fn a_token_in_the_url_never_reaches_the_log_or_the_dead_letters() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    // Nothing listens there: reqwest's error would name the whole URL.
    let url = format!(
        "http://127.0.0.1:{}/hook?token=s3cr3t-token",
        sluice_testkit::free_port()
    );
    let env = quick_retries(&url);
    let (_worker, log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
    enqueuer(&redis, &prefix)
        .enqueue(&envelope("unreachable", 1, Lane::High))
        .await
        .unwrap();
    let (dead, list) = wait_for_dead_letters(&redis, &prefix, 1, Duration::from_secs(20)).await;
    assert!(dead, "{list}");
    assert!(
        list.contains("gave up after 2 attempts: forwarding failed: error sending request"),
        "{list}"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("job failed; retrying later"), "{log}");
    assert!(log.contains("job moved to the dead letters"), "{log}");
    for text in [&list, &log] {
        assert!(!text.contains("s3cr3t"), "the URL leaked:\n{text}");
    }
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

/// Starts a forward worker with `env` on top and returns its exit status and stderr, or fails
/// when it is still running after 10 s.
async fn start_up_fails(env: &[(&str, &str)]) -> String {
    let mut all = vec![("SLUICE_HANDLER", "forward")];
    all.extend_from_slice(env);
    // Nothing may be reached before the settings are checked: no database, no Redis.
    let (mut worker, log) = spawn_worker_logged(
        "postgres://nobody@127.0.0.1:1/none",
        "redis://127.0.0.1:1",
        &prefix(),
        &all,
    );
    let status = worker.wait_exit(Duration::from_secs(10)).await;
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        matches!(status, Some(s) if !s.success()),
        "{status:?}\n{log}"
    );
    log
}

#[tokio::test]
async fn a_forward_url_or_secret_that_cannot_work_stops_start_up() {
    let url = "http://bot.internal:8000/hook?token=s3cr3t";
    let log = start_up_fails(&[
        ("SLUICE_FORWARD_URL", "ftp://bot.example/hook?token=s3cr3t"),
        ("SLUICE_FORWARD_SECRET", SECRET),
    ])
    .await;
    assert!(
        log.contains("SLUICE_FORWARD_URL must be an http:// or https:// URL, not ftp://"),
        "{log}"
    );
    let log2 = start_up_fails(&[
        ("SLUICE_FORWARD_URL", "bot.internal/hook?token=s3cr3t"),
        ("SLUICE_FORWARD_SECRET", SECRET),
    ])
    .await;
    assert!(
        log2.contains("SLUICE_FORWARD_URL is not a valid absolute URL"),
        "{log2}"
    );
    let log3 = start_up_fails(&[
        ("SLUICE_FORWARD_URL", url),
        ("SLUICE_FORWARD_SECRET", "short-s3cr3t"),
    ])
    .await;
    assert!(
        log3.contains("SLUICE_FORWARD_SECRET must be 16 to 1024 bytes long"),
        "{log3}"
    );
    let log4 = start_up_fails(&[("SLUICE_FORWARD_URL", url)]).await;
    assert!(log4.contains("SLUICE_FORWARD_SECRET"), "{log4}");
    for text in [log, log2, log3, log4] {
        assert!(!text.contains("s3cr3t"), "a value was echoed:\n{text}");
    }
}

#[tokio::test]
async fn the_answer_is_read_up_to_64_kib_so_connections_are_reused() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    // Updates 1-3 get a short answer, update 4 an endless one.
    let target = Target::start(|seen| match seen.update_id() {
        Some(4) => {
            let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
            let endless = futures::stream::repeat_with(move || Ok::<_, Infallible>(chunk.clone()));
            Body::from_stream(endless).into_response()
        }
        // The body comes after the head: a client that drops the answer unread cannot put
        // the connection back in its pool.
        _ => {
            let late = futures::stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, Infallible>(Bytes::from_static(b"ok"))
            });
            Body::from_stream(late).into_response()
        }
    })
    .await;
    let url = format!("{}/hook", target.base);
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", url.as_str()),
        ("SLUICE_FORWARD_SECRET", SECRET),
        ("SLUICE_FORWARD_TIMEOUT", "60s"),
    ];
    let worker = spawn_worker(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    // One at a time, so each request can take the connection the one before gave back.
    for id in 1..=4 {
        enq.enqueue(&envelope("answers", id, Lane::Normal))
            .await
            .unwrap();
        let done = wait_until(Duration::from_secs(10), || async {
            jobs_done(&worker.metrics().await) >= id as f64
        })
        .await;
        assert!(done, "update {id} not delivered within 10 s");
    }
    let peers: BTreeSet<_> = target.seen().iter().map(|s| s.peer).collect();
    assert_eq!(
        peers.len(),
        1,
        "a read answer frees its connection: {peers:?}"
    );
    drop(worker);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

/// A forward worker to `url` that gives up after two attempts, 200-500 ms apart.
fn quick_retries(url: &str) -> [(&'static str, &str); 6] {
    [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", url),
        ("SLUICE_FORWARD_SECRET", SECRET),
        ("SLUICE_RETRY_MAX_ATTEMPTS", "2"),
        ("SLUICE_RETRY_BASE", "200ms"),
        ("SLUICE_RETRY_MAX", "500ms"),
    ]
}
