//! A handler never runs twice for an update it finished with: not for a body replayed after the
//! Redis dedup window, not for a redelivery that landed in another lane, not for a signed event
//! delivered again.

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
use sluice_shared::{
    job::{Job, Origin},
    lanes::Lane,
    metrics::JOBS_ALREADY_HANDLED_TOTAL,
    queue::Pushed,
};
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::common::{
    WorkerProc, counter_for_lane, enqueuer, envelope, push_jobs, row_stats, spawn_worker,
    unfinished,
};

/// Forward calls per update_id.
type Calls = Arc<Mutex<HashMap<i64, u32>>>;

async fn count(State(calls): State<Calls>, headers: HeaderMap, _body: Bytes) -> StatusCode {
    let id: i64 = headers["x-sluice-update-id"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    *calls.lock().unwrap().entry(id).or_default() += 1;
    StatusCode::OK
}

/// A bot behind `forward` that counts what reaches it; returns its URL.
async fn counting_bot(calls: Calls) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let app = Router::new().route("/hook", post(count)).with_state(calls);
    tokio::spawn(axum::serve(listener, app).into_future());
    url
}

async fn skipped(worker: &WorkerProc, lane: &str) -> f64 {
    counter_for_lane(&worker.metrics().await, JOBS_ALREADY_HANDLED_TOTAL, lane)
}

/// Deletes every dedup key under `prefix`: what 25 hours do.
async fn forget_dedup_keys(redis: &str, prefix: &str) {
    let client = redis::Client::open(redis).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys = sluice_testkit::scan(&mut conn, &format!("*{prefix}*idempotency*")).await;
    keys.extend(sluice_testkit::scan(&mut conn, &format!("*{prefix}*dedup*")).await);
    assert!(!keys.is_empty(), "dedup keys found");
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}

fn event() -> Job {
    Job {
        origin: Origin::Signed {
            source: "provider".into(),
            key: "evt_1".into(),
            rate_key: None,
        },
        kind: "event".into(),
        lane: Lane::Normal,
        received_at_ms: 1,
        payload: serde_json::value::RawValue::from_string(r#"{"id":"evt_1"}"#.into()).unwrap(),
        attempt: 0,
        traceparent: None,
    }
}

#[tokio::test]
async fn a_replay_after_the_dedup_window_or_in_another_lane_is_not_forwarded_again() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let calls = Calls::default();
    let url = counting_bot(calls.clone()).await;
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", url.as_str()),
        ("SLUICE_FORWARD_SECRET", crate::target::SECRET),
    ];
    let worker = spawn_worker(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    let n = |id: i64| calls.lock().unwrap().get(&id).copied().unwrap_or(0);
    let handled_rows = || crate::common::handled_rows(&db.pool);
    for id in [1, 2] {
        let r = enq.enqueue(&envelope("replayed", id, Lane::Normal)).await;
        assert!(matches!(r, Ok(Pushed::Queued)), "{r:?}");
    }
    let first = wait_until(Duration::from_secs(20), || async {
        n(1) == 1 && n(2) == 1 && unfinished(&redis, &prefix).await == 0
    })
    .await;
    assert!(first, "forwarded once: {calls:?}");

    // 25 hours later Telegram (or an operator) sends update 1 again: a new job, same row.
    forget_dedup_keys(&redis, &prefix).await;
    let r = enq.enqueue(&envelope("replayed", 1, Lane::Normal)).await;
    assert!(matches!(r, Ok(Pushed::Queued)), "{r:?}");
    let settled = wait_until(Duration::from_secs(20), || async {
        (n(1) > 1 || skipped(&worker, "normal").await == 1.0)
            && unfinished(&redis, &prefix).await == 0
    })
    .await;
    assert!(settled, "the replay was settled");
    assert_eq!(
        n(1),
        1,
        "a replay after the dedup window was forwarded again"
    );

    // A lane rule changed while update 2 was queued twice: its redelivery runs in `high`.
    let again = envelope("replayed", 2, Lane::High);
    push_jobs(&redis, &prefix, Lane::High, &[again]).await;
    let settled = wait_until(Duration::from_secs(20), || async {
        (n(2) > 1 || skipped(&worker, "high").await == 1.0)
            && unfinished(&redis, &prefix).await == 0
    })
    .await;
    assert!(settled, "the redelivery was settled");
    assert_eq!(n(2), 1, "a redelivery in another lane was forwarded again");

    // A signed event delivered again after its dedup window (the forward target sees id 0).
    for round in 1..=2 {
        push_jobs(&redis, &prefix, Lane::Normal, &[event()]).await;
        let settled = wait_until(Duration::from_secs(20), || async {
            n(0) >= 1 && unfinished(&redis, &prefix).await == 0
        })
        .await;
        assert!(settled, "event round {round} settled");
    }
    assert_eq!(n(0), 1, "a replayed event was forwarded again");
    assert_eq!(skipped(&worker, "normal").await, 2.0);
    assert_eq!(handled_rows().await, 2, "handled_at recorded");
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE handled_at IS NOT NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(events, 1);
    assert_eq!(row_stats(&db.pool).await, (2, 2));
    drop(worker);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
