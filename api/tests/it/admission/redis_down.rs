//! `redis` scope without its Redis: local limits decide, never a 5xx because of the limiter.
//!
//! The limiter has its own `SLUICE_RATE_REDIS_URL`, so these tests take away only the limiter's
//! Redis while the queue's stays up (with both down, the enqueue answers 503 by itself).

use std::time::{Duration, Instant};

use sluice_testkit::{free_port, servers::RedisServer, wait_until};

use super::{answer, sample};
use crate::common::{BOT, TestApp, message};

async fn fallbacks(app: &TestApp) -> f64 {
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    ["error", "timeout", "breaker"]
        .iter()
        .filter_map(|r| {
            sample(
                &metrics,
                "sluice_ratelimit_fallback_total",
                &[("reason", r)],
            )
        })
        .sum()
}

#[tokio::test]
async fn admission_redis_scope_falls_back_to_local_limits_when_its_redis_is_unreachable() {
    let closed = format!("--rate-redis-url=redis://127.0.0.1:{}", free_port());
    let flags = ["--rate-scope=redis", closed.as_str()];
    let (app, _redis) = super::spawn(&flags).await;
    for i in 0..8 {
        let started = Instant::now();
        let (status, retry_after, body) =
            answer(app.post_update(BOT, message(i, 1, "x")).await).await;
        // The local chat limit (burst 5) still holds.
        if i < 5 {
            assert_eq!(status, 200, "{body}");
        } else {
            assert_eq!((status, retry_after), (429, Some(3)), "{body}");
        }
        assert!(
            started.elapsed() < Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        app.post_update(BOT, message(100, 2, "x")).await.status(),
        200
    );
    assert!(fallbacks(&app).await >= 9.0);
    app.stop().await;
}

#[tokio::test]
async fn admission_redis_scope_rides_out_a_restart_of_its_redis() {
    let mut limiter = RedisServer::start().await.unwrap();
    let flag = format!("--rate-redis-url={}", limiter.url());
    let (app, _redis) = super::spawn(&["--rate-scope=redis", &flag]).await;
    let chat_key = |chat: i64| format!("{0}:rl:{{{0}}}:c:{BOT}:{chat}", app.prefix);
    let limiter_url = limiter.url();
    let exists = |chat: i64| {
        let (url, key) = (limiter_url.clone(), chat_key(chat));
        async move {
            let Ok(client) = redis::Client::open(url) else {
                return false;
            };
            let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
                return false;
            };
            redis::cmd("EXISTS")
                .arg(key)
                .query_async::<i64>(&mut conn)
                .await
                == Ok(1)
        }
    };
    assert_eq!(app.post_update(BOT, message(1, 1, "x")).await.status(), 200);
    assert!(
        exists(1).await,
        "the decision was made in the limiter's Redis"
    );

    limiter.stop().await;
    let before = fallbacks(&app).await;
    for i in 0..20 {
        let status = app
            .post_update(BOT, message(10 + i, 10 + i % 3, "x"))
            .await
            .status();
        assert!(
            status == 200 || status == 429,
            "{status} while the limiter's Redis is down"
        );
    }
    assert!(fallbacks(&app).await >= before + 20.0);

    limiter.resume().await.unwrap();
    // The breaker retries Redis a second after its last failure.
    let mut update_id = 100;
    let back = wait_until(Duration::from_secs(5), || {
        update_id += 1;
        let (app, chat) = (&app, update_id);
        let exists = exists(chat);
        async move {
            app.post_update(BOT, message(chat, chat, "x"))
                .await
                .status()
                == 200
                && exists.await
        }
    })
    .await;
    assert!(back, "decisions return to Redis once it is back");
    app.stop().await;
}
