//! Webhook replies executed: a forward target's answer (JSON, form or multipart with a file)
//! reaches the Telegram stand-in as a Bot API call made by the worker with the bot's token; a
//! refused one is counted and logged without its values, and the update stays handled (no
//! retry, no dead letter).

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use sluice_shared::{lanes::Lane, metrics as m};
use sluice_testkit::{
    TestDb,
    bots::{TEST_SECRETS_KEY, add_bot_with_token, test_token},
    prefix, redis_url,
    telegram_stand_in::{Call, Injection, StandInLimits, TelegramStandIn},
    wait_until,
};

use crate::{
    common::{enqueuer, envelope, jobs_done, spawn_worker_logged},
    target::{SECRET, Seen, Target},
};

const BOUNDARY: &str = "aiogram-like-boundary";

/// Update 1: a JSON reply; 2: a multipart reply with a photo; 3 and later: a form reply whose
/// text is a value that must never be logged. Every chat is the update's own (`envelope`).
fn answer(seen: &Seen) -> Response {
    let id = seen.update_id().unwrap();
    let chat = 1000 + id % 50;
    match id {
        1 => (
            [("content-type", "application/json")],
            format!(r#"{{"method":"sendMessage","chat_id":{chat},"text":"json reply"}}"#),
        )
            .into_response(),
        2 => {
            let part = |head: &str, value: &str| {
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; {head}\r\n\r\n{value}\r\n")
            };
            let body = [
                part(r#"name="method""#, "sendPhoto"),
                part(r#"name="chat_id""#, &chat.to_string()),
                part(r#"name="caption""#, "multipart reply"),
                part(r#"name="photo"; filename="cat.jpg""#, "JPEG-BYTES"),
                format!("--{BOUNDARY}--\r\n"),
            ]
            .concat();
            let ct = format!("multipart/form-data; boundary={BOUNDARY}");
            ([("content-type", ct)], body).into_response()
        }
        _ => (
            [("content-type", "application/x-www-form-urlencoded")],
            format!("method=sendMessage&chat_id={chat}&text=s3cr3t-user-text"),
        )
            .into_response(),
    }
}

fn of(calls: &[Call], method: &str) -> Vec<Call> {
    calls
        .iter()
        .filter(|c| c.method == method)
        .cloned()
        .collect()
}

#[tokio::test]
async fn replies_reach_telegram_and_a_refused_one_leaves_the_update_handled() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    add_bot_with_token(&db.pool, "b1", &test_token(1))
        .await
        .unwrap();
    let stand_in = TelegramStandIn::start(StandInLimits::default())
        .await
        .unwrap();
    let target = Target::start(answer).await;
    let api_url = stand_in.url();
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", target.base.as_str()),
        ("SLUICE_FORWARD_SECRET", SECRET),
        ("SLUICE_SECRETS_KEY", TEST_SECRETS_KEY),
        ("SLUICE_TELEGRAM_API_URL", api_url.as_str()),
    ];
    let (worker, log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
    let enq = enqueuer(&redis, &prefix);
    let done = |n: f64| {
        let worker = &worker;
        async move {
            wait_until(Duration::from_secs(30), || async {
                jobs_done(&worker.metrics().await) == n
            })
            .await
        }
    };

    for id in [1, 2] {
        enq.enqueue(&envelope("b1", id, Lane::High)).await.unwrap();
        assert!(done(id as f64).await, "{}", worker.metrics().await);
    }
    let calls = stand_in.calls();
    let sent = of(&calls, "sendMessage");
    assert_eq!(sent.len(), 1, "{calls:?}");
    assert_eq!(
        (
            sent[0].chat.as_deref(),
            sent[0].text.as_deref(),
            sent[0].status
        ),
        (Some("1001"), Some("json reply"), 200)
    );
    let photo = of(&calls, "sendPhoto");
    assert_eq!(photo.len(), 1, "{calls:?}");
    assert_eq!(
        (photo[0].chat.as_deref(), photo[0].status),
        (Some("1002"), 200)
    );
    assert_eq!(calls[0].bot, test_token(1).split(':').next().unwrap());

    // Telegram refuses the next one (the user blocked the bot): not retried, not dead.
    stand_in.inject(Injection {
        bot: calls[0].bot.clone(),
        error_code: 403,
        retry_after: None,
        count: 1,
    });
    enq.enqueue(&envelope("b1", 3, Lane::High)).await.unwrap();
    assert!(done(3.0).await, "{}", worker.metrics().await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let to_target: Vec<i64> = target.seen().iter().filter_map(Seen::update_id).collect();
    assert_eq!(to_target, [1, 2, 3], "update 3 was not forwarded again");
    let refused: Vec<Call> = of(&stand_in.calls(), "sendMessage")
        .into_iter()
        .filter(|c| c.status == 403)
        .collect();
    assert_eq!(refused.len(), 1);

    let metrics = worker.metrics().await;
    for (method, outcome) in [
        ("sendMessage", "sent"),
        ("sendPhoto", "sent"),
        ("sendMessage", "refused"),
    ] {
        let series = format!(
            r#"{}{{method="{method}",outcome="{outcome}"}} 1"#,
            m::FORWARD_REPLIES_TOTAL
        );
        assert!(metrics.contains(&series), "{series} in\n{metrics}");
    }
    let not_done = metrics.lines().filter(|l| {
        l.starts_with(m::JOBS_TOTAL) && (l.contains(r#""dead""#) || l.contains(r#""retried""#))
    });
    assert_eq!(not_done.count(), 0, "no retry, no dead letter:\n{metrics}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("webhook reply not executed") && log.contains("refused"),
        "{log}"
    );
    for text in [&log, &metrics] {
        for secret in ["s3cr3t-user-text", test_token(1).as_str(), TEST_SECRETS_KEY] {
            assert!(!text.contains(secret), "{secret} leaked:\n{text}");
        }
    }
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
