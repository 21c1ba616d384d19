//! The proxy's added latency per call, measured (`--ignored --nocapture`): the same calls sent
//! one after another straight to the stand-in and through a worker's proxy. `getMe` passes no
//! limiter (the proxy's own cost: token lookup, body, one more HTTP hop); `sendMessage` also
//! takes its turn in Redis (limits so high they never bind).

use std::time::{Duration, Instant};

use sluice_testkit::{bots::test_token, telegram_stand_in::StandInLimits};

use super::Setup;

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p) as usize].as_secs_f64() * 1e3
}

async fn timed(client: &reqwest::Client, url: &str, n: usize, form: bool) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        let request = if form {
            let chat = (i % 1000).to_string();
            client
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("chat_id={chat}&text=m"))
        } else {
            client.get(url)
        };
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        out.push(t.elapsed());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: run with --ignored --nocapture"]
async fn proxy_added_latency_per_call() {
    const N: usize = 1000;
    let high = StandInLimits {
        bot_per_sec: 1e6,
        bot_burst: 100_000,
        chat_per_sec: 1e6,
        chat_burst: 100_000,
        ..StandInLimits::default()
    };
    let s = Setup::new(1, high).await;
    let p = s
        .worker(&[
            ("RUST_LOG", "warn"),
            ("SLUICE_BOTAPI_BOT_PER_SEC", "1000000"),
            ("SLUICE_BOTAPI_BOT_BURST", "100000"),
            ("SLUICE_BOTAPI_CHAT_PER_SEC", "1000000"),
            ("SLUICE_BOTAPI_CHAT_BURST", "100000"),
        ])
        .await;
    let token = test_token(1);
    let client = reqwest::Client::new();
    for (method, form) in [("getMe", false), ("sendMessage", true)] {
        let direct = format!("{}/bot{token}/{method}", s.stand_in.url());
        let proxied = format!("{}/bot{token}/{method}", p.url);
        timed(&client, &direct, 100, form).await;
        timed(&client, &proxied, 100, form).await;
        let mut d = timed(&client, &direct, N, form).await;
        let mut v = timed(&client, &proxied, N, form).await;
        let (d50, d99, v50, v99) = (
            pct(&mut d, 0.5),
            pct(&mut d, 0.99),
            pct(&mut v, 0.5),
            pct(&mut v, 0.99),
        );
        println!(
            "{method:<12} direct p50 {d50:.3} ms p99 {d99:.3} ms | proxy p50 {v50:.3} ms p99 {v99:.3} ms | added p50 {:.3} ms p99 {:.3} ms (n={N}, debug build)",
            v50 - d50,
            v99 - d99
        );
    }
}
