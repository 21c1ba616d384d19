//! One client against the stand-in: what reaches Telegram, typed refusals, retries, the 429
//! freeze shared with another client, answers that pass no limiter, uploads.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use sluice_botapi::{BotApiError, FileBody, FilePart, Photo};
use sluice_testkit::{
    bots::test_token,
    telegram_stand_in::{Injection, StandInLimits},
};

use crate::common::{Setup, bot_id};

fn inject(error_code: u16, retry_after: Option<u64>, count: u32) -> Injection {
    Injection {
        bot: bot_id(1),
        error_code,
        retry_after,
        count,
    }
}

#[tokio::test]
async fn a_message_reaches_telegram_and_refusals_are_typed() {
    let s = Setup::new(1, StandInLimits::default()).await;
    let api = s.client(&[]).await;
    let sent = api.send_message("b1", 42, "hello").await.unwrap();
    assert_eq!(sent.chat.id, 42);
    let calls = s.stand_in.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (calls[0].bot.as_str(), calls[0].method.as_str()),
        (bot_id(1).as_str(), "sendMessage")
    );
    assert_eq!(calls[0].chat.as_deref(), Some("42"));

    // 403 "blocked by the user": permanent, not retried.
    s.stand_in.inject(inject(403, None, 1));
    let e = api.send_message("b1", 42, "again").await.unwrap_err();
    assert!(e.is_permanent(), "{e}");
    assert!(matches!(e, BotApiError::Rejected(ref f) if f.error_code == 403));
    assert_eq!(s.stand_in.calls().len(), 2);

    // A 502 is retried, with backoff.
    s.stand_in.inject(inject(502, None, 1));
    api.send_message("b1", 42, "third").await.unwrap();
    assert_eq!(s.stand_in.calls().len(), 4);

    // An unknown bot never reaches Telegram; no error text holds a token.
    let e = api.send_message("nobody", 42, "x").await.unwrap_err();
    assert!(matches!(e, BotApiError::NoToken(_)), "{e}");
    assert_eq!(s.stand_in.calls().len(), 4);
    assert!(!format!("{e} {e:?}").contains(&test_token(1)));
    s.db.drop_db().await;
}

#[tokio::test]
async fn a_429_freezes_the_bot_for_every_client_and_answers_are_not_held() {
    let s = Setup::new(2, StandInLimits::default()).await;
    let (first, second) = (s.client(&[]).await, s.client(&[]).await);
    s.stand_in.inject(inject(429, Some(1), 1));
    let start = Instant::now();
    let (a, b) = tokio::join!(first.send_message("b1", 1, "one"), async {
        // The other worker sends to the same bot just after the 429.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let b = second.send_message("b1", 2, "two").await;
        // An answer to a callback query passes no limiter: not held by the freeze.
        let t = Instant::now();
        second
            .answer_callback_query("b1", "q1", None)
            .await
            .unwrap();
        (b, t.elapsed())
    });
    a.unwrap();
    let (b, answer_took) = b;
    b.unwrap();
    assert!(answer_took < Duration::from_millis(500), "{answer_took:?}");
    let calls = s.stand_in.calls();
    let t0 = calls[0].at_us;
    let timeline: Vec<String> = calls
        .iter()
        .map(|c| {
            format!(
                "+{:>5} ms {} {} {}",
                (c.at_us - t0) / 1000,
                c.method,
                c.chat.as_deref().unwrap_or("-"),
                c.status
            )
        })
        .collect();
    println!("send timeline:\n{}", timeline.join("\n"));
    assert_eq!(calls[0].status, 429);
    for c in &calls[1..] {
        if c.method == "sendMessage" {
            assert!(
                c.at_us - t0 >= 1_000_000,
                "sent during the freeze:\n{}",
                timeline.join("\n")
            );
            assert_eq!(c.status, 200);
        }
    }
    assert_eq!(calls.iter().filter(|c| c.status == 429).count(), 1);
    assert!(start.elapsed() >= Duration::from_secs(1));
    // Another bot was never frozen.
    let t = Instant::now();
    second.send_message("b2", 1, "x").await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(500));
    s.db.drop_db().await;
}

#[tokio::test]
async fn a_freeze_longer_than_the_wait_allowed_is_a_typed_retry_after() {
    let s = Setup::new(1, StandInLimits::default()).await;
    let api = s.client(&["--botapi-max-wait=1s"]).await;
    s.stand_in.inject(inject(429, Some(5), 1));
    let e = api.send_message("b1", 1, "x").await.unwrap_err();
    assert!(
        matches!(e, BotApiError::RetryAfter(d) if d == Duration::from_secs(5)),
        "{e}"
    );
    let e = api.send_message("b1", 1, "x").await.unwrap_err();
    assert!(matches!(e, BotApiError::WaitTooLong(_)), "{e}");
    assert!(!e.is_permanent() && e.retry_after().is_some());
    assert_eq!(s.stand_in.calls().len(), 1);
    s.db.drop_db().await;
}

#[tokio::test]
async fn a_photo_upload_is_streamed_as_multipart() {
    let s = Setup::new(1, StandInLimits::default()).await;
    let api = s.client(&[]).await;
    let chunks =
        futures::stream::iter((0..64).map(|_| Ok(Bytes::from(vec![7u8; 16 << 10])))).boxed();
    let part = FilePart {
        field: "photo".into(),
        file_name: "big.jpg".into(),
        content_type: "image/jpeg".into(),
        body: FileBody::Stream(Some(chunks)),
    };
    let sent = api
        .send_photo("b1", -1005, Photo::Upload(part), Some("cap"))
        .await
        .unwrap();
    assert_eq!(sent.chat.id, -1005);
    api.send_photo("b1", 5, Photo::FileId("AgAD".into()), None)
        .await
        .unwrap();
    let calls = s.stand_in.calls();
    assert_eq!(calls[0].chat.as_deref(), Some("-1005"));
    assert_eq!(calls[1].method, "sendPhoto");
    s.db.drop_db().await;
}
