//! One chat floods among quiet ones: it gets its burst, then 429s that say when to come back;
//! nobody else notices.

use std::time::{Duration, Instant};

use futures::StreamExt;

use super::{answer, sample};
use crate::common::{BOT, message};

const FLOODER: i64 = -1001234567890;
const QUIET_CHATS: i64 = 50;

#[tokio::test]
async fn admission_flooding_chat_gets_its_burst_then_429s_while_quiet_chats_pass() {
    // Defaults: 20 per minute per chat, burst 5; local scope.
    let (app, _redis) = super::spawn(&[]).await;
    // 1 000 updates of the flooder with one update of each quiet chat among them, in one second.
    let mut plan = Vec::new();
    for i in 0..1000 {
        plan.push((i + 1, FLOODER));
        if i % 20 == 10 {
            let quiet = plan.len() as i64;
            plan.push((100_000 + quiet, 1_000 + quiet));
        }
    }
    assert_eq!(plan.len() as i64, 1000 + QUIET_CHATS);
    let slot = Duration::from_secs(1) / plan.len() as u32;
    let start = Instant::now();
    let app_ref = &app;
    let results: Vec<_> = futures::stream::iter(plan.into_iter().enumerate())
        .map(|(k, (update_id, chat))| async move {
            tokio::time::sleep_until((start + slot * k as u32).into()).await;
            let resp = app_ref
                .post_update(BOT, message(update_id, chat, "hi"))
                .await;
            let answered = start.elapsed();
            (chat, answer(resp).await, answered)
        })
        .buffer_unordered(64)
        .collect()
        .await;
    let took = start.elapsed();
    eprintln!("1050 updates answered in {took:?}");

    let mut admitted = 0;
    for (chat, (status, retry_after, body), answered) in &results {
        if *chat != FLOODER {
            assert_eq!(*status, 200, "quiet chat {chat}: {body}");
            assert!(body["id"].is_string());
            continue;
        }
        if *status == 200 {
            admitted += 1;
            continue;
        }
        assert_eq!(*status, 429, "{body}");
        assert_eq!(body["error"], "rate_limited");
        assert!(body["detail"].as_str().unwrap().contains("chat"), "{body}");
        // The burst went at ~0 s; the next cell is due 3 s (one interval) after it. Rounded up,
        // the wait at the moment of the answer is between ceil(3 - elapsed) and 3.
        let retry_after = retry_after.expect("Retry-After on every 429");
        let floor = (3.0 - answered.as_secs_f64()).ceil().max(1.0) as u64;
        assert!(
            (floor..=3).contains(&retry_after),
            "Retry-After {retry_after} at {answered:?}"
        );
    }
    assert_eq!(admitted, 5, "the flooder gets exactly its burst");
    assert_eq!(app.jobs().await, 5 + QUIET_CHATS);

    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let rejected = sample(
        &metrics,
        "sluice_admission_total",
        &[("lane", "normal"), ("decision", "rejected_chat")],
    );
    assert!(rejected.is_some_and(|n| n >= 995.0), "{rejected:?}");
    assert!(
        !metrics.contains(&FLOODER.to_string()),
        "no chat id in any label"
    );
    app.stop().await;
}
