//! The proxy's calls share the limits and the 429 freeze with `BotApi`'s own: two workers'
//! proxies and a direct client, one bot, the stand-in enforcing the same limits.

use std::time::{Duration, Instant};

use serde_json::json;
use sluice_botapi::{BotApi, BotApiConfig, Params, Tokens};
use sluice_testkit::{
    bots::{test_keyring, test_token},
    redis_url,
    telegram_stand_in::{Injection, StandInLimits},
};

use super::{Setup, bot_id, post_json};

const PER_SEC: f64 = 2.0;
const BURST: u32 = 2;
/// See `replies.rs`: debug processes on a shared two-core machine stall for hundreds of ms.
const SLACK: Duration = Duration::from_millis(500);

fn limits() -> StandInLimits {
    StandInLimits {
        bot_per_sec: PER_SEC,
        bot_burst: BURST,
        slack: SLACK,
        ..StandInLimits::default()
    }
}

const ENV: &[(&str, &str)] = &[
    ("SLUICE_BOTAPI_BOT_PER_SEC", "2"),
    ("SLUICE_BOTAPI_BOT_BURST", "2"),
    ("SLUICE_BOTAPI_PROXY_MAX_WAIT", "60s"),
];

/// A direct client on the same prefix and limits as the workers.
async fn direct(s: &Setup) -> BotApi {
    let url = s.stand_in.url();
    let cfg = BotApiConfig::from_args([
        "--telegram-api-url",
        url.as_str(),
        "--botapi-bot-per-sec=2",
        "--botapi-bot-burst=2",
        "--botapi-max-wait=60s",
    ])
    .unwrap();
    let tokens = Tokens::new(s.db.pool.clone(), test_keyring(), cfg.token_ttl);
    let redis = redis::Client::open(redis_url())
        .unwrap()
        .get_connection_manager()
        .await
        .unwrap();
    BotApi::new(&cfg, redis, &s.prefix, tokens).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_proxies_and_a_client_hold_the_limits_and_a_429_freezes_the_proxies() {
    let s = Setup::new(1, limits()).await;
    let (a, b) = (s.worker(ENV).await, s.worker(ENV).await);
    let api = direct(&s).await;
    let token = test_token(1);

    // 4 calls through each proxy and 4 direct, all at once, each to a chat of its own: 12 sends
    // at 2/s take about 5 s; the stand-in answers 429 to any that comes early.
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..4 {
        for (k, url) in [(0, &a.url), (1, &b.url)] {
            let call = format!("{url}/bot{token}/sendMessage");
            let chat = 100 + i * 10 + k;
            sends.spawn(async move {
                post_json(&call, json!({"chat_id": chat, "text": "p"}))
                    .await
                    .0
            });
        }
        let api = api.clone();
        sends.spawn(async move {
            let params = Params::json(json!({"chat_id": 200 + i, "text": "d"})).unwrap();
            match api.call("b1", "sendMessage", params).await {
                Ok(_) => 200,
                Err(e) => panic!("direct call failed: {e}"),
            }
        });
    }
    while let Some(status) = sends.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    let calls = s.calls_of(1);
    assert_eq!(calls.len(), 12);
    assert!(calls.iter().all(|c| c.status == 200), "no 429: {calls:?}");
    // No window of 1 s holds more than burst + rate - 1 = 3 sends (GCRA's bound).
    for c in &calls {
        let within = calls
            .iter()
            .filter(|d| d.at_us >= c.at_us && d.at_us < c.at_us + 1_000_000 - SLACK_US)
            .count();
        assert!(within <= 3, "{within} sends within a second");
    }

    // A 429 that one proxy's call gets freezes the other proxy's and the client's calls.
    s.stand_in.inject(Injection {
        bot: bot_id(1),
        error_code: 429,
        retry_after: Some(2),
        count: 1,
    });
    tokio::time::sleep(Duration::from_secs(2)).await; // the limits' debt from above is paid
    let first = format!("{}/bot{token}/sendMessage", a.url);
    let first = tokio::spawn(async move { post_json(&first, json!({"chat_id": 300})).await.0 });
    let got_429 = sluice_testkit::wait_until(Duration::from_secs(10), || async {
        s.calls_of(1).iter().any(|c| c.status == 429)
    })
    .await;
    assert!(got_429, "the injected 429 was answered");
    let frozen_at = s
        .calls_of(1)
        .iter()
        .find(|c| c.status == 429)
        .unwrap()
        .at_us;
    let started = Instant::now();
    let second = format!("{}/bot{token}/sendMessage", b.url);
    let (status, _) = post_json(&second, json!({"chat_id": 301, "text": "y"})).await;
    assert_eq!(status, 200);
    let params = Params::json(json!({"chat_id": 302, "text": "z"})).unwrap();
    api.call("b1", "sendMessage", params).await.unwrap();
    // The proxy that got the 429 waited out the freeze and sent again (its wait allows it).
    assert_eq!(first.await.unwrap(), 200);
    let calls = s.calls_of(1);
    let during: Vec<_> = calls
        .iter()
        .filter(|c| c.at_us > frozen_at && c.at_us < frozen_at + 2_000_000 - 100_000)
        .collect();
    assert!(during.is_empty(), "sent while frozen: {during:?}");
    assert_eq!(calls.iter().filter(|c| c.status == 429).count(), 1);
    assert_eq!(calls.len(), 12 + 4);
    println!(
        "frozen at {frozen_at} us; proxy B's call held {:?}",
        started.elapsed()
    );
    let metrics = b.worker.metrics().await;
    let waited = super::metric(&metrics, "sluice_botapi_wait_seconds_count", &[]);
    assert!(waited >= 1.0, "proxy B's calls went through the limiter");
}

const SLACK_US: u64 = SLACK.as_micros() as u64;
