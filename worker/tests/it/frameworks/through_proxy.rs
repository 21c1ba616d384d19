//! Unmodified frameworks with their API base URL (the app's `API_BASE` setting) on the worker's
//! Bot API proxy: their own calls go through the proxy, under the shared limiter, and reach the
//! Telegram stand-in behind it; the bot's token is registered in sluice.
//! - python-telegram-bot (`base_url`): its start-up calls (`getMe`, `setWebhook`) and its
//!   handler's `sendMessage`.
//! - grammY (`client.apiRoot`), webhook replies off: its handler's `sendMessage`.
//!
//! The order differs from [`Behind::start`]: the proxy must listen before the framework starts,
//! since PTB calls `getMe` as it initializes.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::STANDARD};
use sluice_testkit::{TestDb, free_port, prefix, redis_url, wait_until};

use sluice_testkit::telegram_stand_in::{StandInLimits, TelegramStandIn};

use super::{App, GOOD, TOKEN, message, spawn_app_with};
use crate::{
    api::{api_cli, spawn_api},
    common::spawn_worker_logged,
    target::SECRET,
};

#[tokio::test]
async fn python_telegram_bot_sends_through_the_proxy() {
    through_the_proxy(App::Python("ptb"), "ptbproxy1", &[], true).await;
}

#[tokio::test]
async fn grammy_sends_through_the_proxy() {
    through_the_proxy(
        App::Node("grammy"),
        "grammyproxy1",
        &[("WEBHOOK_REPLY", "off")],
        false,
    )
    .await;
}

/// `app` started on the proxy with its settings `app_env`; an update tagged `marker` posted to
/// sluice makes the app's echo, which must reach the stand-in through the proxy.
/// `calls_get_me`: the framework asks `getMe` itself as it starts.
async fn through_the_proxy(app: App, marker: &str, app_env: &[(&str, &str)], calls_get_me: bool) {
    let standin = TelegramStandIn::start(StandInLimits::default())
        .await
        .unwrap();
    let standin_url = standin.url();
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let key = STANDARD.encode([9u8; 32]);
    let keyed = [("SLUICE_SECRETS_KEY", key.as_str())];
    let (app_port, proxy_port) = (free_port(), free_port());
    let hook = format!("http://127.0.0.1:{app_port}/hook");
    let add = [
        "bots",
        "add",
        "good",
        "--secret",
        GOOD,
        "--forward-url",
        &hook,
        "--token",
        TOKEN,
    ];
    api_cli(&db.url, &add, &keyed).await;
    let api = spawn_api(&db.url, &redis, &prefix, &[]).await;
    let proxy_addr = format!("127.0.0.1:{proxy_port}");
    let env = [
        ("SLUICE_HANDLER", "forward"),
        ("SLUICE_FORWARD_URL", "http://127.0.0.1:9/unused"),
        ("SLUICE_FORWARD_SECRET", SECRET),
        ("SLUICE_SECRETS_KEY", key.as_str()),
        ("SLUICE_TELEGRAM_API_URL", standin_url.as_str()),
        ("SLUICE_BOTAPI_PROXY_ADDR", proxy_addr.as_str()),
    ];
    let (worker, worker_log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
    let listening = wait_until(Duration::from_secs(30), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", proxy_port))
            .await
            .is_ok()
    })
    .await;
    assert!(listening, "the worker's proxy listens");

    let _app = spawn_app_with(&app, app_port, &format!("http://{proxy_addr}"), app_env).await;
    let up = wait_until(Duration::from_secs(120), || async {
        tokio::net::TcpStream::connect(("127.0.0.1", app_port))
            .await
            .is_ok()
    })
    .await;
    assert!(
        up,
        "the app started (PTB: its getMe and setWebhook went through the proxy)"
    );

    let resp = reqwest::Client::new()
        .post(format!("{}/webhook/telegram/good", api.base))
        .header("X-Telegram-Bot-Api-Secret-Token", GOOD)
        .header("content-type", "application/json")
        .body(message(1, marker))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let sent = || {
        standin
            .calls()
            .iter()
            .filter(|c| {
                c.method == "sendMessage" && c.text.as_deref().is_some_and(|t| t.contains(marker))
            })
            .count()
    };
    let reached = wait_until(Duration::from_secs(60), || async { sent() == 1 }).await;
    assert!(reached, "the app's reply reached the stand-in");

    let metrics = worker.metrics().await;
    let via_proxy = |method: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| {
                l.starts_with(sluice_shared::metrics::BOTAPI_CALLS_TOTAL)
                    && l.contains(&format!(r#"method="{method}""#))
                    && l.contains(r#"via="proxy""#)
                    && l.contains(r#"outcome="ok""#)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert_eq!(via_proxy("sendMessage"), 1.0, "{metrics}");
    if calls_get_me {
        assert!(
            via_proxy("getMe") >= 1.0,
            "the app's getMe went through the proxy"
        );
    }
    let log = std::fs::read_to_string(&worker_log).unwrap();
    let tail = TOKEN.split(':').nth(1).unwrap();
    assert!(
        !log.contains(tail) && !metrics.contains(tail),
        "the token leaked"
    );
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
