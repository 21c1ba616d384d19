//! The real `sluice-api` serving with known secrets (a sealed key, a bot token, source signing
//! secrets, a bot's webhook secret) and debug logging: its logs, its metrics and every error
//! body it sends hold none of them, in any form (as is, base64, hex).

use std::{process::Stdio, time::Duration};

use sluice_testkit::{TestDb, free_port, prefix};
use tokio::{io::AsyncReadExt, process::Command};

use crate::{
    secrets_at_rest::{TOKEN, api, assert_no_secret, key},
    sign::github,
};

const SOURCE_SECRET: &str = "gh-TOPSECRET-leak";
const BOT_SECRET: &str = "webhook-TOPSECRET-leak";

#[tokio::test]
async fn no_secret_reaches_logs_metrics_or_error_bodies() {
    let db = TestDb::fresh().await.unwrap();
    let ka = key(7);
    let key_hex = hex::encode([7u8; 32]);
    let secrets = [TOKEN, SOURCE_SECRET, BOT_SECRET, &ka, &key_hex];
    let url = db.url.as_str();
    // A legacy clear-text source (no key), then a bot with a token (key).
    let out = api(
        &[
            "sources",
            "add",
            "gh",
            "--scheme",
            "github",
            "--secret",
            SOURCE_SECRET,
        ],
        &[("DATABASE_URL", url)],
        "",
    )
    .await;
    assert!(out.0, "{out:?}");
    let with_key = [("DATABASE_URL", url), ("SLUICE_SECRETS_KEY", ka.as_str())];
    let out = api(
        &[
            "bots", "add", "b1", "--secret", BOT_SECRET, "--token", TOKEN,
        ],
        &with_key,
        "",
    )
    .await;
    assert!(out.0, "{out:?}");

    let (port, admin) = (free_port(), free_port());
    let queue_prefix = prefix();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-api"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("REDIS_URL", sluice_testkit::redis_url())
        .env("SLUICE_QUEUE_PREFIX", &queue_prefix)
        .env("SLUICE_API_ADDR", format!("127.0.0.1:{port}"))
        .env("SLUICE_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
        .env("SLUICE_SECRETS_KEY", &ka)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("sluice-api starts");
    let client = reqwest::Client::new();
    let hook = format!("http://127.0.0.1:{port}/webhook/hooks/gh");
    let up = sluice_testkit::wait_until(Duration::from_secs(20), || async {
        client
            .post(&hook)
            .body("{}")
            .send()
            .await
            .is_ok_and(|r| r.status() == 401)
    })
    .await;
    assert!(up, "the api came up and knows source gh");

    let mut bodies = String::new();
    let body = r#"{"id":1}"#;
    let good = github(SOURCE_SECRET, body.as_bytes());
    let bad = github("wrong-secret", body.as_bytes());
    for (name, value) in [good, bad] {
        let r = client
            .post(&hook)
            .header(name, value)
            .body(body)
            .send()
            .await
            .unwrap();
        bodies.push_str(&format!("{} {}\n", r.status(), r.text().await.unwrap()));
    }
    let tg = format!("http://127.0.0.1:{port}/webhook/telegram/b1");
    for secret in [BOT_SECRET, "wrong-TOPSECRET-guess"] {
        let r = client
            .post(&tg)
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .header("content-type", "application/json")
            .body(r#"{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"private"},"text":"hi"}}"#)
            .send()
            .await
            .unwrap();
        bodies.push_str(&format!("{} {}\n", r.status(), r.text().await.unwrap()));
    }
    assert!(
        bodies.starts_with("200 ") && bodies.contains("401 "),
        "{bodies}"
    );
    let metrics = client
        .get(format!("http://127.0.0.1:{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("sluice_http_requests_total"), "{metrics}");

    child.start_kill().unwrap();
    let (mut stdout, mut stderr) = (String::new(), String::new());
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let _ = child.wait().await;
    let logs = format!("{stdout}{stderr}");
    assert!(
        logs.contains("clear-text secrets encrypted"),
        "start-up sealed the legacy secret"
    );
    for (what, text) in [
        ("log stdout", &stdout),
        ("log stderr", &stderr),
        ("metrics", &metrics),
        ("error bodies", &bodies),
    ] {
        assert_no_secret(what, text, &secrets);
    }
    sluice_testkit::clear_prefix(&sluice_testkit::redis_url(), &queue_prefix).await;
    db.drop_db().await;
}
