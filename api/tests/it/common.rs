//! `spawn_app()`: the real api router on port 0 against real Redis and a fresh database.

#![allow(dead_code)]

use std::{net::SocketAddr, time::Duration};

use clap::Parser;
use sluice_api::{config::ApiConfig, startup::Api};
use sluice_testkit::{TestDb, prefix};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub const BOT: &str = "testbot";
pub const SECRET: &str = "s3cret-token_ABC";

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    cfg: ApiConfig,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub admin_addr: SocketAddr,
    /// The console's listener, when the flags configure a console token.
    pub console_addr: Option<SocketAddr>,
    pub db: TestDb,
    pub prefix: String,
    pub redis_url: String,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&sluice_testkit::redis_url(), &[]).await
}

/// Starts the api against `redis_url` with extra flags (e.g. `["--enqueue-timeout", "100ms"]`).
pub async fn spawn_app_with(redis_url: &str, extra: &[&str]) -> TestApp {
    let db = TestDb::fresh().await.expect("fresh database");
    sluice_api::bots::add(&db.pool, BOT, SECRET)
        .await
        .expect("add bot");
    start(db, prefix(), redis_url, extra).await
}

/// The api on `db` and `prefix` (a fresh test's, or a restarted one's).
async fn start(db: TestDb, prefix: String, redis_url: &str, extra: &[&str]) -> TestApp {
    let mut args = vec![
        "sluice-api".to_owned(),
        format!("--database-url={}", db.url),
        format!("--redis-url={redis_url}"),
        format!("--queue-prefix={prefix}"),
        "--registry-refresh=200ms".to_owned(),
        "--shutdown-grace=5s".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let cfg = Args::try_parse_from(args).expect("valid test config").cfg;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (addr, admin_addr) = (listener.local_addr().unwrap(), admin.local_addr().unwrap());
    let mut api = Api::build(cfg).await.expect("api builds");
    let mut console_addr = None;
    if api.console.is_some() {
        let console = TcpListener::bind("127.0.0.1:0").await.unwrap();
        console_addr = Some(console.local_addr().unwrap());
        api = api.with_console_listener(console);
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let handle = tokio::spawn(api.run(listener, admin, async {
        let _ = stopped.await;
    }));
    TestApp {
        addr,
        admin_addr,
        console_addr,
        db,
        prefix,
        redis_url: redis_url.to_owned(),
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        stop: Some(stop),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn webhook_url(&self, bot: &str) -> String {
        format!("http://{}/webhook/telegram/{bot}", self.addr)
    }

    /// POSTs `body` to the bot's webhook with its secret.
    pub async fn post_update(
        &self,
        bot: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.post_with_secret(bot, Some(SECRET), body).await
    }

    pub async fn post_with_secret(
        &self,
        bot: &str,
        secret: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.webhook_url(bot))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        req.send().await.expect("request sent")
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("http://{}{path}", self.admin_addr))
            .send()
            .await
            .expect("admin answered")
    }

    /// Jobs stored in Redis under this app's prefix.
    pub async fn jobs(&self) -> i64 {
        sluice_testkit::jobs_stored(&self.redis_url, &self.prefix)
            .await
            .expect("redis readable")
    }

    /// Starts a graceful shutdown (as SIGTERM does) without waiting for it.
    pub fn begin_shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the api as a deploy would and starts it again with `extra` flags on the same
    /// database, Redis and prefix: what it queued before stays.
    pub async fn restart_with(mut self, extra: &[&str]) -> TestApp {
        self.begin_shutdown();
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        let (db, prefix, redis_url) = (self.db, self.prefix, self.redis_url);
        start(db, prefix, &redis_url, extra).await
    }

    /// Stops the api (as SIGTERM would) and cleans up what the test made.
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), h).await;
        }
        sluice_testkit::clear_prefix(&self.redis_url, &self.prefix).await;
        self.db.drop_db().await;
    }
}

/// A realistic private-chat message update.
pub fn message(update_id: i64, chat_id: i64, text: &str) -> String {
    serde_json::json!({
        "update_id": update_id,
        "message": {
            "message_id": 17,
            "from": {"id": 7123456789i64, "is_bot": false, "first_name": "Ada", "username": "ada", "language_code": "en"},
            "chat": {"id": chat_id, "first_name": "Ada", "username": "ada", "type": "private"},
            "date": 1764000000,
            "text": text
        }
    })
    .to_string()
}
