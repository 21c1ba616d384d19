//! `history replay` against a recording forward target.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{http::StatusCode, response::IntoResponse};
use chrono::Duration as Ago;
use sluice_testkit::TestDb;

use super::{Row, history, history_ok, insert};
use crate::target::{SECRET, Target};

fn forward_env(target: &Target) -> Vec<(&'static str, String)> {
    vec![
        ("SLUICE_HANDLER", "forward".into()),
        ("SLUICE_FORWARD_URL", format!("{}/hook", target.base)),
        ("SLUICE_FORWARD_SECRET", SECRET.into()),
    ]
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Three chats' messages interleaved (update_id 1..=30, chat = id % 3), an hour old, plus a
/// message of the same bot three days old and one of another bot.
async fn three_chats(db: &TestDb) {
    let mut rows: Vec<Row> = (1..=30)
        .map(|id| Row::message("rb", id, -100 - id % 3, 7 + id % 3, Ago::hours(1)))
        .collect();
    rows.push(Row::message("rb", 31, -100, 7, Ago::days(3)));
    rows.push(Row::message("other", 32, -100, 7, Ago::hours(1)));
    // Inserted out of update_id order: the replay's order must come from update_id.
    rows.reverse();
    insert(&db.pool, &rows).await;
}

#[tokio::test]
async fn replay_keeps_each_chats_order_and_marks_the_calls() {
    let db = TestDb::fresh().await.unwrap();
    three_chats(&db).await;
    // A slow and uneven target: shards that did not keep a chat in one queue would reorder it.
    let target = Target::start(|seen| {
        let id = seen.update_id().unwrap_or(0);
        std::thread::sleep(Duration::from_millis((id % 4) as u64 * 5));
        StatusCode::OK.into_response()
    })
    .await;
    let env = forward_env(&target);
    let args = [
        "replay",
        "--bot",
        "rb",
        "--since",
        "2h",
        "--rate",
        "500",
        "--parallel",
        "3",
    ];
    let out = history(&db.url, &args, &env_refs(&env)).await;
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("replayed 30 update(s)"), "{stdout}");
    // Not a terminal: the progress is a plain line, at the end at least.
    assert!(
        stderr.contains("replay: 30/30 updates, 0 failed, "),
        "{stderr}"
    );

    let seen = target.seen();
    assert_eq!(
        seen.len(),
        30,
        "each update of the range once, nothing else"
    );
    let mut per_chat: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for s in &seen {
        assert_eq!(s.headers["x-sluice-replay"], "1");
        assert_eq!(s.headers["x-sluice-bot"], "rb");
        let body: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
        let chat = body["message"]["chat"]["id"].as_i64().unwrap();
        per_chat
            .entry(chat)
            .or_default()
            .push(s.update_id().unwrap());
    }
    assert_eq!(per_chat.len(), 3);
    for (chat, ids) in &per_chat {
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, &sorted, "chat {chat} replayed out of order");
        assert_eq!(ids.len(), 10);
    }
    let (rows, handled): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(handled_at) FROM updates")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!((rows, handled), (32, 0), "a replay writes no row");
    db.drop_db().await;
}

#[tokio::test]
async fn replay_stays_under_its_rate() {
    let db = TestDb::fresh().await.unwrap();
    let rows: Vec<Row> = (1..=25)
        .map(|id| Row::message("rate", id, id, id, Ago::minutes(5)))
        .collect();
    insert(&db.pool, &rows).await;
    let times = Arc::new(Mutex::new(Vec::new()));
    let record = times.clone();
    let target = Target::start(move |_| {
        record.lock().unwrap().push(Instant::now());
        StatusCode::OK.into_response()
    })
    .await;
    let env = forward_env(&target);
    // 25 chats on 8 shards: without the bucket they would all go at once.
    let args = [
        "replay",
        "--bot",
        "rate",
        "--since",
        "1h",
        "--rate",
        "10",
        "--parallel",
        "8",
    ];
    history_ok(&db.url, &args, &env_refs(&env)).await;

    let times = times.lock().unwrap().clone();
    assert_eq!(times.len(), 25);
    let span = *times.last().unwrap() - times[0];
    // 25 calls at 10/s, burst 1: 24 gaps of 100 ms.
    assert!(span >= Duration::from_millis(2100), "25 calls in {span:?}");
    for (i, t) in times.iter().enumerate() {
        let in_a_second = times[i..]
            .iter()
            .take_while(|u| **u - *t < Duration::from_secs(1))
            .count();
        assert!(in_a_second <= 12, "{in_a_second} calls within one second");
    }
    db.drop_db().await;
}

#[tokio::test]
async fn a_dry_run_counts_and_calls_nobody() {
    let db = TestDb::fresh().await.unwrap();
    three_chats(&db).await;
    let target = Target::start(|_| StatusCode::OK.into_response()).await;
    let env = forward_env(&target);
    let args = [
        "replay",
        "--bot",
        "rb",
        "--since",
        "2h",
        "--chat",
        "-101",
        "--dry-run",
    ];
    let out = history_ok(&db.url, &args, &env_refs(&env)).await;
    // Chat -101: update_ids 1, 4, ... 28.
    assert!(
        out.contains("10 update(s) of bot rb in chat -101, update_id 1..=28, received "),
        "{out}"
    );
    let all = [
        "replay",
        "--bot",
        "rb",
        "--since",
        "4d",
        "--kind",
        "message",
        "--dry-run",
    ];
    let out = history_ok(&db.url, &all, &env_refs(&env)).await;
    assert!(
        out.contains("31 update(s) of bot rb of kind message, update_id 1..=31"),
        "{out}"
    );
    let none = [
        "replay",
        "--bot",
        "rb",
        "--since",
        "2h",
        "--kind",
        "poll",
        "--dry-run",
    ];
    let out = history_ok(&db.url, &none, &env_refs(&env)).await;
    assert!(
        out.starts_with("0 update(s) of bot rb of kind poll"),
        "{out}"
    );
    assert!(target.seen().is_empty(), "a dry run called the target");
    db.drop_db().await;
}

/// A handler of the library's, recording what it is given.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<(i64, bool, u32)>>>);

impl sluice_worker::handler::UpdateHandler for Recorder {
    async fn handle(
        &self,
        _: &sluice_worker::handler::HandlerContext,
        update: &sluice_worker::handler::Update,
    ) -> Result<(), sluice_worker::handler::HandlerError> {
        let sluice_shared::job::Origin::Telegram { update_id, .. } = update.origin else {
            panic!("a stored update is a Telegram one");
        };
        self.0
            .lock()
            .unwrap()
            .push((update_id, update.replay, update.attempt));
        Ok(())
    }
}

#[tokio::test]
async fn a_library_handler_sees_the_replay_flag() {
    #[derive(clap::Parser)]
    struct Args {
        #[command(flatten)]
        replay: sluice_worker::history::args::ReplayArgs,
    }
    let db = TestDb::fresh().await.unwrap();
    let rows: Vec<Row> = (1..=5)
        .map(|id| Row::message("lib", id, -5, 5, Ago::minutes(10)))
        .collect();
    insert(&db.pool, &rows).await;
    let url = format!("--database-url={}", db.url);
    let args = ["x", "--bot", "lib", "--since", "1h", "--rate", "1000", &url];
    let args = <Args as clap::Parser>::try_parse_from(args).unwrap().replay;
    let handler = Recorder::default();
    sluice_worker::history::replay::run(args, handler.clone())
        .await
        .unwrap();
    let seen = handler.0.lock().unwrap().clone();
    assert_eq!(seen, (1..=5).map(|id| (id, true, 0)).collect::<Vec<_>>());
    db.drop_db().await;
}
