//! Unmodified framework bots behind sluice (`worker/tests/frameworks/`): each framework is
//! installed from its registry, its own webhook server started on a loopback port with a secret
//! token, and sluice (the api and a forward worker, real binaries) put in front of it. An update
//! posted to sluice-api must reach the framework's handler with the secret it accepts; a bot
//! registered with another secret must be refused by the framework itself; a webhook reply
//! must reach the Telegram stand-in (`sluice_testkit::telegram_stand_in`, which enforces
//! Telegram's limits and records every call), sent by the worker with the bot's token.
//!
//! # Layout
//! - this file: [`Behind`], the running set, and the webhook-reply flow.
//! - [`install`]: pip / npm installs, cached under `target/tmp/frameworks/`.
//! - one module per framework.

mod aiogram;
mod grammy;
mod install;
mod ptb;
mod through_proxy;

use std::{path::PathBuf, process::Stdio, time::Duration};

use base64::{Engine, engine::general_purpose::STANDARD};
use sluice_testkit::{
    TestDb, free_port, prefix, redis_url,
    telegram_stand_in::{Call, StandInLimits, TelegramStandIn},
    wait_until,
};
use tokio::process::{Child, Command};

use crate::{
    api::{ApiProc, api_cli, spawn_api},
    common::{WorkerProc, spawn_worker_logged, wait_for_dead_letters},
    target::SECRET,
};

/// A bot token of Telegram's shape: the framework's, and bot `good`'s in sluice (to send its
/// webhook replies); only the stand-in ever sees it.
pub const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";
/// The secret token the framework demands, and the one bot `good` is registered with.
pub const GOOD: &str = "framework_secret_OK_1";
/// Bot `bad` is registered in sluice with this one: the framework must refuse its deliveries.
pub const BAD: &str = "not_the_framework_secret_2";

/// How a framework app is started.
pub enum App {
    /// `<venv>/bin/python <sources>/<name>/bot.py`.
    Python(&'static str),
    /// `node <sources>/<name>/bot.js` with the folder's packages on NODE_PATH.
    Node(&'static str),
}

/// A framework app with sluice in front of it and a Telegram stand-in behind it.
pub struct Behind {
    pub db: TestDb,
    pub redis: String,
    pub prefix: String,
    pub api: ApiProc,
    pub worker: WorkerProc,
    pub worker_log: PathBuf,
    /// The Telegram stand-in (Telegram's default limits): the Bot API the framework and the
    /// worker call.
    pub standin: TelegramStandIn,
    /// `http://127.0.0.1:<port>/hook`: the framework's own webhook.
    pub hook: String,
    _app: Child,
}

impl Behind {
    pub async fn start(app: App) -> Behind {
        let standin = TelegramStandIn::start(StandInLimits::default())
            .await
            .unwrap();
        let port = free_port();
        let child = spawn_app(&app, port, &standin.url()).await;
        let hook = format!("http://127.0.0.1:{port}/hook");
        let up = wait_until(Duration::from_secs(120), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        assert!(
            up,
            "the framework's webhook server did not listen on {port}"
        );

        let db = TestDb::fresh().await.unwrap();
        let (redis, prefix) = (redis_url(), prefix());
        let key = STANDARD.encode([9u8; 32]);
        let keyed = [("SLUICE_SECRETS_KEY", key.as_str())];
        for (bot, secret) in [("good", GOOD), ("bad", BAD)] {
            let mut add = vec![
                "bots",
                "add",
                bot,
                "--secret",
                secret,
                "--forward-url",
                &hook,
            ];
            // Only `good` can send: its webhook replies go out with the framework's token.
            if bot == "good" {
                add.extend(["--token", TOKEN]);
            }
            api_cli(&db.url, &add, &keyed).await;
        }
        let api = spawn_api(&db.url, &redis, &prefix, &[]).await;
        let standin_url = standin.url();
        let env = [
            ("SLUICE_HANDLER", "forward"),
            ("SLUICE_TELEGRAM_API_URL", standin_url.as_str()),
            // Bots without their own URL would go here; these two have theirs.
            ("SLUICE_FORWARD_URL", "http://127.0.0.1:9/unused"),
            ("SLUICE_FORWARD_SECRET", SECRET),
            ("SLUICE_SECRETS_KEY", key.as_str()),
            ("SLUICE_RETRY_MAX_ATTEMPTS", "2"),
            ("SLUICE_RETRY_BASE", "10ms"),
            ("SLUICE_RETRY_MAX", "10ms"),
        ];
        let (worker, worker_log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
        Behind {
            db,
            redis,
            prefix,
            api,
            worker,
            worker_log,
            standin,
            hook,
            _app: child,
        }
    }

    /// Posts a text message to sluice-api as Telegram would for `bot`, with `secret`.
    pub async fn post(&self, bot: &str, secret: &str, update_id: i64, text: &str) {
        let resp = reqwest::Client::new()
            .post(format!("{}/webhook/telegram/{bot}", self.api.base))
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .header("content-type", "application/json")
            .body(message(update_id, text))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "sluice-api took the update");
    }

    /// Waits until bot `bad`'s update is a dead letter, and returns the listing: the framework
    /// refused sluice's delivery with the wrong secret.
    pub async fn refused(&self) -> String {
        let (dead, list) =
            wait_for_dead_letters(&self.redis, &self.prefix, 1, Duration::from_secs(60)).await;
        assert!(dead, "{list}");
        list
    }

    /// The framework itself answering a delivery with a wrong secret: its status.
    pub async fn direct_with_wrong_secret(&self) -> u16 {
        reqwest::Client::new()
            .post(&self.hook)
            .header("X-Telegram-Bot-Api-Secret-Token", BAD)
            .header("content-type", "application/json")
            .body(message(99, "direct"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The stand-in's `sendMessage` calls whose text holds `word`.
    pub fn sent(&self, word: &str) -> usize {
        self.sent_calls(word).len()
    }

    /// The stand-in's `sendMessage` calls whose text holds `word`, as it recorded them.
    pub fn sent_calls(&self, word: &str) -> Vec<Call> {
        let has = |c: &Call| {
            c.method == "sendMessage" && c.text.as_deref().is_some_and(|t| t.contains(word))
        };
        self.standin.calls().into_iter().filter(has).collect()
    }

    /// The worker's count of webhook replies of `method` (any outcome).
    pub async fn replies(&self, method: &str) -> f64 {
        self.counted(sluice_shared::metrics::FORWARD_REPLIES_TOTAL, &[method])
            .await
    }

    /// The sum of the worker's `metric` series whose labels hold every one of `values`.
    pub async fn counted(&self, metric: &str, values: &[&str]) -> f64 {
        let labels: Vec<String> = values.iter().map(|v| format!(r#"="{v}""#)).collect();
        self.worker
            .metrics()
            .await
            .lines()
            .filter(|l| l.starts_with(&format!("{metric}{{")))
            .filter(|l| labels.iter().all(|label| l.contains(label)))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Checks that no secret reached the worker's log, its metrics or the dead letters.
    pub async fn no_secret_leaked(&self, list: &str) {
        let log = std::fs::read_to_string(&self.worker_log).unwrap();
        for text in [&log, &self.worker.metrics().await, list] {
            for secret in [GOOD, BAD, TOKEN] {
                assert!(!text.contains(secret), "a secret leaked:\n{text}");
            }
        }
    }

    pub async fn stop(self) {
        sluice_testkit::clear_prefix(&self.redis, &self.prefix).await;
        self.db.drop_db().await;
    }
}

fn message(update_id: i64, text: &str) -> String {
    format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"from":{{"id":7,"is_bot":false,"first_name":"U"}},"chat":{{"id":7,"type":"private"}},"date":1764000000,"text":"{text}"}}}}"#
    )
}

async fn spawn_app(app: &App, port: u16, api_base: &str) -> Child {
    spawn_app_with(app, port, api_base, &[]).await
}

/// [`spawn_app`] with settings of the app's own (`env`).
async fn spawn_app_with(app: &App, port: u16, api_base: &str, env: &[(&str, &str)]) -> Child {
    let src = install::sources();
    let mut cmd = match *app {
        App::Python(name) => {
            let python = tokio::task::spawn_blocking(move || install::python(name))
                .await
                .unwrap();
            let mut cmd = Command::new(python);
            cmd.arg(src.join(name).join("bot.py"));
            cmd
        }
        App::Node(name) => {
            let modules = tokio::task::spawn_blocking(move || install::node_modules(name))
                .await
                .unwrap();
            let mut cmd = Command::new("node");
            cmd.arg(src.join(name).join("bot.js"))
                .env("NODE_PATH", modules);
            cmd
        }
    };
    cmd.env("BOT_TOKEN", TOKEN)
        .env("WEBHOOK_SECRET", GOOD)
        .env("PORT", port.to_string())
        .env("API_BASE", api_base)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    cmd.spawn().expect("the framework app starts")
}

/// The flow every framework that answers by webhook reply goes through: it refuses a wrong
/// secret itself; its reply to a good update is executed by the worker with the bot's token and
/// reaches the stand-in once (method, chat, text), counted as sent; an update it refuses is
/// dead with no reply counted. `name` labels the asserts; `marker` tags the texts sent.
async fn replies_by_webhook(app: App, name: &str, marker: &str) {
    let run = Behind::start(app).await;
    assert_eq!(
        run.direct_with_wrong_secret().await,
        401,
        "{name} refuses itself"
    );

    let good = format!("{marker}ping1");
    run.post("good", GOOD, 1, &good).await;
    let replied = wait_until(Duration::from_secs(60), || async {
        run.replies("sendMessage").await == 1.0
    })
    .await;
    assert!(replied, "{}", run.worker.metrics().await);
    let sent = run.sent_calls(&good);
    assert_eq!(
        sent.len(),
        1,
        "{name}'s reply reached the stand-in: {sent:?}"
    );
    let echo = format!("echo: {good}");
    assert_eq!(
        (
            sent[0].chat.as_deref(),
            sent[0].text.as_deref(),
            sent[0].status
        ),
        (Some("7"), Some(echo.as_str()), 200),
        "{name}'s reply as the stand-in got it"
    );
    // Sent by the worker (the framework made no call of its own): counted as a sent reply,
    // and as the Bot API client's own call.
    let m = sluice_shared::metrics::FORWARD_REPLIES_TOTAL;
    assert_eq!(run.counted(m, &["sendMessage", "sent"]).await, 1.0);
    let m = sluice_shared::metrics::BOTAPI_CALLS_TOTAL;
    assert_eq!(run.counted(m, &["sendMessage", "ok"]).await, 1.0);

    run.post("bad", BAD, 2, &format!("{marker}ping2")).await;
    let list = run.refused().await;
    assert!(
        list.contains("forward target answered 401 Unauthorized"),
        "{list}"
    );
    assert_eq!(
        run.replies("sendMessage").await,
        1.0,
        "no reply to a refused one"
    );
    run.no_secret_leaked(&list).await;
    run.stop().await;
}
