//! The limiter's added latency per call, measured (`--ignored --nocapture`): one `acquire` that
//! needs no wait, against a Redis PING on the same connection as the reference, and a whole
//! call to the stand-in that passes no limiter (`answerCallbackQuery`) against one that does
//! (`sendMessage`, limits so high they never bind). Figures go to docs/performance.md.

use std::time::{Duration, Instant};

use sluice_botapi::{
    Chat,
    limiter::{Limiter, Plan},
};
use sluice_testkit::{prefix, telegram_stand_in::StandInLimits};

use crate::common::{Setup, redis};

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn show(name: &str, v: &[Duration]) {
    println!(
        "{name:<28} p50 {:>8.3} ms  p99 {:>8.3} ms  (n={})",
        pct(v.to_vec(), 0.5).as_secs_f64() * 1e3,
        pct(v.to_vec(), 0.99).as_secs_f64() * 1e3,
        v.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn limiter_latency_per_call() {
    const N: usize = 2000;
    let limits = sluice_botapi::BotApiConfig::from_args([
        "--botapi-bot-per-sec=1000000",
        "--botapi-bot-burst=100000",
        "--botapi-chat-per-sec=1000000",
        "--botapi-chat-burst=100000",
        "--botapi-group-per-min=100000000",
        "--botapi-group-burst=100000",
    ])
    .unwrap()
    .limits();
    let mut conn = redis().await;
    let limiter = Limiter::new(conn.clone(), &prefix(), limits);
    limiter.warm_up().await;
    let plan = Plan {
        chat: Some(Chat::Id(-100)),
        paid: false,
    };
    let (mut ping, mut acquire) = (Vec::new(), Vec::new());
    for _ in 0..N {
        let t = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut conn).await.unwrap();
        ping.push(t.elapsed());
        let t = Instant::now();
        limiter
            .acquire("b", &plan, Duration::from_secs(1))
            .await
            .unwrap();
        acquire.push(t.elapsed());
    }
    show("redis PING (reference)", &ping);
    show("limiter acquire (no wait)", &acquire);

    // A whole call, limited (sendMessage) and not (answerCallbackQuery), same stand-in.
    let s = Setup::new(
        1,
        StandInLimits {
            bot_per_sec: 1e6,
            bot_burst: 100_000,
            chat_per_sec: 1e6,
            chat_burst: 100_000,
            group_per_min: 1e8,
            group_burst: 100_000,
            ..StandInLimits::default()
        },
    )
    .await;
    let api = s
        .client(&[
            "--botapi-bot-per-sec=1000000",
            "--botapi-bot-burst=100000",
            "--botapi-chat-per-sec=1000000",
            "--botapi-chat-burst=100000",
        ])
        .await;
    let (mut free, mut limited) = (Vec::new(), Vec::new());
    for i in 0..N / 4 {
        let t = Instant::now();
        api.answer_callback_query("b1", "q", None).await.unwrap();
        free.push(t.elapsed());
        let t = Instant::now();
        api.send_message("b1", i as i64, "x").await.unwrap();
        limited.push(t.elapsed());
    }
    let mut bot_only = Vec::new();
    for _ in 0..N / 4 {
        let p = sluice_botapi::Params::json(serde_json::json!({"chat_id": 5, "message_id": 1}))
            .unwrap();
        let t = Instant::now();
        api.call("b1", "deleteMessage", p).await.unwrap();
        bot_only.push(t.elapsed());
    }
    show("deleteMessage (bot bucket)", &bot_only);
    show("call, no limiter", &free);
    show("call through the limiter", &limited);
    println!(
        "load: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    s.db.drop_db().await;
}
