//! Rows Postgres refuses (data errors): the good rows of the same batch are stored at once, and
//! only the refused job goes to the dead letters, at once, with Postgres's message.

use std::time::Duration;

use serde_json::value::RawValue;
use sluice_shared::dlq::{DeadLetter, DeadLetterFilter, DeadLetters};
use sluice_shared::{
    job::{Job, Origin},
    lanes::Lane,
};
use sluice_testkit::{TestDb, prefix, redis_url, wait_until};

use crate::common::{envelope, push_jobs, row_stats, spawn_worker};

/// Valid JSON that `jsonb` refuses: a string holding `\u0000`. The api refuses such bodies; these
/// jobs are pushed straight into Redis, as an older api or a replay of an old dead letter would.
fn nul_update(update_id: i64) -> Job {
    let mut env = envelope("refused", update_id, Lane::Normal);
    env.payload = RawValue::from_string(format!(
        r#"{{"update_id":{update_id},"message":{{"chat":{{"id":1}},"text":"a\u0000b"}}}}"#
    ))
    .unwrap();
    env
}

fn nul_event() -> Job {
    Job {
        origin: Origin::Signed {
            source: "provider".into(),
            key: "evt_nul".into(),
            rate_key: None,
        },
        kind: "event".into(),
        lane: Lane::Normal,
        received_at_ms: 1,
        payload: RawValue::from_string(r#"{"id":"evt_nul","note":"\u0000"}"#.into()).unwrap(),
        attempt: 0,
        traceparent: None,
    }
}

async fn dead_letters(dead: &DeadLetters) -> Vec<DeadLetter> {
    let normal = DeadLetterFilter {
        lane: Some(Lane::Normal),
        ..Default::default()
    };
    dead.list(&normal, None, 100).await.unwrap().letters
}

#[tokio::test]
async fn a_refused_row_dies_alone_at_once_and_its_batch_is_stored() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    // One bad row among 200 good ones, all queued before the worker starts, one insert at a time
    // in flight: the bad row shares its batch with good ones.
    let mut jobs: Vec<Job> = (1..=200)
        .map(|id| envelope("refused", id, Lane::Normal))
        .collect();
    jobs.insert(100, nul_update(1000));
    jobs.push(nul_event());
    push_jobs(&redis, &prefix, Lane::Normal, &jobs).await;
    let env = [
        ("SLUICE_INSERT_PARALLEL", "1"),
        ("SLUICE_WORKER_CONCURRENCY", "64"),
        ("SLUICE_RETRY_MAX_ATTEMPTS", "3"),
        ("SLUICE_RETRY_BASE", "100ms"),
    ];
    let worker = spawn_worker(&db.url, &redis, &prefix, &env);

    // Well within the 30 s a failing write is ridden out before it counts as an attempt.
    let stored = wait_until(Duration::from_secs(10), || async {
        row_stats(&db.pool).await.0 == 200
    })
    .await;
    assert!(
        stored,
        "good rows stored at once: {:?}",
        row_stats(&db.pool).await
    );
    let conn = sluice_shared::queue::connect(&redis, Duration::from_secs(5)).unwrap();
    let dead = DeadLetters::new(conn, &prefix);
    let both = wait_until(Duration::from_secs(10), || async {
        dead_letters(&dead).await.len() == 2
    })
    .await;
    let letters = dead_letters(&dead).await;
    assert!(both, "{letters:?}");
    for letter in &letters {
        assert!(
            letter.reason.starts_with("permanent: ")
                && letter
                    .reason
                    .contains("unsupported Unicode escape sequence"),
            "Postgres's message is the reason: {}",
            letter.reason
        );
        assert_eq!(letter.envelope.attempt, 0, "no attempt used up");
    }
    let mut who: Vec<String> = letters.iter().map(|l| l.envelope.describe()).collect();
    who.sort();
    assert_eq!(who, ["provider/evt_nul", "refused/1000"]);
    assert_eq!(row_stats(&db.pool).await, (200, 200));
    let unhandled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM updates WHERE handled_at IS NULL")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(unhandled, 0, "the store handler's rows are written handled");
    let retried: f64 = worker
        .metrics()
        .await
        .lines()
        .filter(|l| l.starts_with(sluice_shared::metrics::DB_RETRIES_TOTAL))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        retried, 0.0,
        "no write waited for a retry, good rows included"
    );
    drop(worker);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
