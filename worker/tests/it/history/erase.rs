//! `history erase`: a chat's or a user's data in Postgres and Redis, and nobody else's.

use chrono::Duration as Ago;
use serde_json::value::RawValue;
use sluice_shared::dlq::{DeadLetter, DeadLetters};
use sluice_shared::{
    job::{Job, Origin},
    lanes::Lane,
};
use sluice_testkit::{TestDb, prefix, redis_url};

use super::{Row, history, history_ok, insert};
use crate::common::push_jobs;

/// A queued message of `user` in `chat`.
fn job(bot: &str, update_id: i64, chat: i64, user: i64, lane: Lane) -> Job {
    Job {
        origin: Origin::Telegram {
            bot: bot.into(),
            update_id,
            chat: Some(chat),
            user: Some(user),
        },
        kind: "message".into(),
        lane,
        received_at_ms: 0,
        payload: RawValue::from_string(format!(r#"{{"update_id":{update_id},"secret":"s3cr3t"}}"#))
            .unwrap(),
        attempt: 0,
        traceparent: None,
    }
}

/// The people: user 7 writes in group -100 and in their private chat 7; user 8 in the group and
/// in private chat 8; user 7 of another bot.
fn everyone() -> Vec<Job> {
    vec![
        job("eb", 1, -100, 7, Lane::Normal),
        job("eb", 2, 7, 7, Lane::High),
        job("eb", 3, -100, 8, Lane::Normal),
        job("eb", 4, 8, 8, Lane::Low),
        job("other", 5, 7, 7, Lane::Normal),
    ]
}

async fn count(pool: &sqlx::PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn redis_ids(redis: &str, prefix: &str) -> (Vec<i64>, Vec<i64>) {
    let client = redis::Client::open(redis).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let (mut queued, mut dead) = (Vec::new(), Vec::new());
    for lane in Lane::ALL {
        let q = lane.queue_name(prefix);
        let data: Vec<Vec<u8>> = redis::cmd("HVALS")
            .arg(format!("{q}:data"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let waiting: i64 = redis::cmd("LLEN")
            .arg(format!("{q}:active"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let scheduled: i64 = redis::cmd("ZCARD")
            .arg(format!("{q}:scheduled"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let held: i64 = redis::cmd("SCARD")
            .arg(format!("{q}:inflight:w"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(
            waiting + scheduled + held,
            data.len() as i64,
            "every waiting or held id has its data, and only those"
        );
        for bytes in data {
            let job: Job = serde_json::from_slice(&bytes).unwrap();
            let Origin::Telegram { update_id, .. } = job.origin else {
                panic!()
            };
            queued.push(update_id);
        }
        let letters: Vec<String> = redis::cmd("HVALS")
            .arg(format!("{q}:dlq:entries"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let index: i64 = redis::cmd("ZCARD")
            .arg(format!("{q}:dlq"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(index, letters.len() as i64);
        for l in letters {
            let letter: DeadLetter = serde_json::from_str(&l).unwrap();
            let Origin::Telegram { update_id, .. } = letter.envelope.origin else {
                panic!()
            };
            dead.push(update_id);
        }
    }
    queued.sort();
    dead.sort();
    (queued, dead)
}

/// The id of `queue`'s job for `update_id`.
async fn job_of(
    conn: &mut redis::aio::MultiplexedConnection,
    queue: &str,
    update_id: i64,
) -> String {
    let all: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
        .arg(format!("{queue}:data"))
        .query_async(conn)
        .await
        .unwrap();
    all.into_iter()
        .find(|(_, bytes)| {
            let job: Job = serde_json::from_slice(bytes).unwrap();
            matches!(job.origin, Origin::Telegram { update_id: u, .. } if u == update_id)
        })
        .unwrap()
        .0
}

#[tokio::test]
async fn erase_removes_a_persons_data_and_nobody_elses() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let ago = Ago::hours(30);
    let jobs = everyone();
    let rows: Vec<Row> = jobs
        .iter()
        .map(|j| match &j.origin {
            Origin::Telegram {
                bot,
                update_id,
                chat,
                user,
            } => Row::message(bot, *update_id, chat.unwrap(), user.unwrap(), ago),
            Origin::Signed { .. } => unreachable!(),
        })
        .collect();
    insert(&db.pool, &rows).await;
    // Every job queued (scheduled) in its lane; the high lane's promoted to the active list, as a
    // fetch does; and every job a dead letter too, under update_id + 100.
    for j in everyone() {
        push_jobs(&redis, &prefix, j.lane, &[j]).await;
    }
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let high = Lane::High.queue_name(&prefix);
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{high}:scheduled"))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("{high}:scheduled"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg(format!("{high}:active"))
        .arg(&ids)
        .query_async(&mut conn)
        .await
        .unwrap();
    let dead = DeadLetters::new(
        sluice_shared::queue::connect(&redis, std::time::Duration::from_secs(5)).unwrap(),
        &prefix,
    );
    for (i, mut j) in everyone().into_iter().enumerate() {
        if let Origin::Telegram { update_id, .. } = &mut j.origin {
            *update_id += 100;
        }
        let letter = DeadLetter {
            id: format!("d{i}"),
            reason: "r".into(),
            dead_at_ms: 1,
            envelope: j,
        };
        dead.put(&letter).await.unwrap();
    }
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("SLUICE_QUEUE_PREFIX", prefix.as_str()),
        ("SLUICE_LOG_FORMAT", "json"),
    ];

    // User 7 of bot eb: their group message and their private chat, in every place.
    let args = [
        "erase",
        "--bot",
        "eb",
        "--user",
        "7",
        "--requested-by",
        "ticket-42",
    ];
    let out = history(&db.url, &args, &env).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("updates rows (postgres): 2"), "{stdout}");
    assert!(
        stdout.contains("queued jobs (redis): 2 (high 1, normal 1, low 0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("dead letters (redis): 2 (high 1, normal 1, low 0)"),
        "{stdout}"
    );
    assert!(stderr.contains("erased a person's data"), "{stderr}");
    assert!(
        stderr.contains(r#""requested_by":"ticket-42""#) && stderr.contains(r#""subject_id":7"#),
        "{stderr}"
    );
    assert!(
        !stderr.contains("s3cr3t") && !stdout.contains("s3cr3t"),
        "a payload was printed"
    );
    let ids = |sql| count(&db.pool, sql);
    assert_eq!(
        ids("SELECT count(*) FROM updates WHERE bot = 'eb'").await,
        2
    );
    assert_eq!(
        ids("SELECT count(*) FROM updates WHERE bot = 'eb' AND 7 IN (chat_id, user_id)").await,
        0
    );
    assert_eq!(
        redis_ids(&redis, &prefix).await,
        (vec![3, 4, 5], vec![103, 104, 105])
    );

    // Then the group -100, while a worker holds eb/3 (user 8's message there): its job is left
    // alone and reported; user 8's private chat stays.
    let normal = Lane::Normal.queue_name(&prefix);
    let held = job_of(&mut conn, &normal, 3).await;
    let _: () = redis::pipe()
        .zrem(format!("{normal}:scheduled"), &held)
        .sadd(format!("{normal}:inflight:w"), &held)
        .query_async(&mut conn)
        .await
        .unwrap();
    let args = ["erase", "--bot", "eb", "--chat", "-100"];
    let stdout = history_ok(&db.url, &args, &env).await;
    assert!(stdout.contains("updates rows (postgres): 1"), "{stdout}");
    assert!(
        stdout.contains("queued jobs (redis): 0 (high 0, normal 0, low 0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("in flight, left to their worker: 1"),
        "{stdout}"
    );
    assert_eq!(
        ids("SELECT count(*) FROM updates").await,
        2,
        "eb/4 and other/5 remain"
    );
    assert_eq!(
        redis_ids(&redis, &prefix).await,
        (vec![3, 4, 5], vec![104, 105])
    );

    // The worker finishes it (the id moves to the done set): erasing again takes it.
    let _: () = redis::pipe()
        .srem(format!("{normal}:inflight:w"), &held)
        .sadd(format!("{normal}:done"), &held)
        .query_async(&mut conn)
        .await
        .unwrap();
    let stdout = history_ok(&db.url, &args, &env).await;
    assert!(
        stdout.contains("finished or failed jobs the queue kept (redis): 1"),
        "{stdout}"
    );
    assert!(!stdout.contains("in flight"), "{stdout}");
    assert_eq!(
        redis_ids(&redis, &prefix).await,
        (vec![4, 5], vec![104, 105])
    );

    let neither = history(&db.url, &["erase", "--bot", "eb"], &env).await;
    assert!(!neither.status.success(), "--chat or --user is required");
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
