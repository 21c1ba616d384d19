//! A console on port 0 with a fresh Redis prefix, a signed-in browser, and dead letters to put.

use std::time::Duration;

use clap::Parser;
use redis::{AsyncCommands, aio::ConnectionManager};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use sluice_console::{Console, config::ConsoleConfig, service::lanes::Arrivals};
use sluice_shared::{
    dlq::{DeadLetter, DeadLetters},
    job::{Job, Origin, order::Ordering},
    lanes::Lane,
    serve::ServeConfig,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

/// The console token the tests sign in with (only its SHA-256 is configured).
pub const TOKEN: &str = "console-queues-test-token-0123456789";

#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    console: ConsoleConfig,
    #[command(flatten)]
    serve: ServeConfig,
}

/// A running console and a client that follows no redirect.
pub struct TestConsole {
    pub base: String,
    pub http: reqwest::Client,
    pub prefix: String,
    pub redis: ConnectionManager,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// A signed-in browser: its cookie and the session's CSRF token.
pub struct Signed {
    pub cookie: String,
    pub csrf: String,
}

pub async fn spawn() -> TestConsole {
    // The dead-letter and workers views never touch Postgres: a pool that connects only when
    // asked.
    spawn_on(sqlx::PgPool::connect_lazy(&sluice_testkit::admin_database_url()).unwrap()).await
}

/// [`spawn`] with the bots and sources of the database behind `db`.
pub async fn spawn_on(db: sqlx::PgPool) -> TestConsole {
    let prefix = sluice_testkit::prefix();
    let client = redis::Client::open(sluice_testkit::redis_url()).unwrap();
    let redis = client.get_connection_manager().await.unwrap();
    let digest = format!(
        "--console-token-sha256={}",
        hex::encode(Sha256::digest(TOKEN))
    );
    let flags = Flags::parse_from(["t", &digest, "--console-secure-cookie=false"]);
    let console = Console::build(
        &flags.console,
        redis.clone(),
        &prefix,
        Arrivals::default(),
        Ordering::Chat,
        db,
        // A keyring that can seal nothing: these tests store no token.
        std::sync::Arc::new(sluice_shared::sealed::Keyring::new(None, None).unwrap()),
    )
    .expect("a token digest is configured");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(sluice_console::serve(
        listener,
        console,
        flags.serve,
        async move {
            let _ = stopped.await;
        },
    ));
    TestConsole {
        base: format!("http://{addr}"),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        prefix,
        redis,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestConsole {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request with the bearer token.
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).bearer_auth(TOKEN)
    }

    /// `GET path` with the bearer token: the status and the JSON answer.
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.api(reqwest::Method::GET, path).send().await.unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert!(!body.contains(TOKEN), "an answer shows the token");
        (status, serde_json::from_str(&body).unwrap())
    }

    /// `POST path` with the bearer token and a JSON body.
    pub async fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let resp = self
            .api(reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    /// Signs in through the form; the CSRF token is read where the console keeps it.
    pub async fn sign_in(&self) -> Signed {
        let resp = self
            .http
            .post(self.url("/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("token", TOKEN)]).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 303);
        let set = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
        let cookie = set
            .split(';')
            .next()
            .and_then(|kv| kv.strip_prefix("sluice_console="))
            .expect("the session cookie")
            .to_owned();
        let key = format!(
            "{}:console:session:{}",
            self.prefix,
            hex::encode(Sha256::digest(&cookie))
        );
        let csrf: String = self.redis.clone().get(key).await.unwrap();
        Signed { cookie, csrf }
    }

    /// A request with the session's cookie.
    pub fn with(&self, s: &Signed, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("cookie", format!("sluice_console={}", s.cookie))
    }

    /// `GET path` as the signed-in browser: the status and the page.
    pub async fn page(&self, s: &Signed, path: &str) -> (u16, String) {
        let resp = self
            .with(s, reqwest::Method::GET, path)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let html = resp.text().await.unwrap();
        assert!(!html.contains(TOKEN), "a page shows the token");
        (status, html)
    }

    pub fn dead_letters(&self) -> DeadLetters {
        DeadLetters::new(self.redis.clone(), &self.prefix)
    }

    pub async fn queue_len(&self, lane: Lane) -> i64 {
        sluice_testkit::queue_len(&sluice_testkit::redis_url(), &self.prefix, lane.as_str())
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        sluice_testkit::clear_prefix(&sluice_testkit::redis_url(), &self.prefix).await;
    }
}

/// Who a test letter comes from.
pub enum From {
    Bot(&'static str, i64),
    Source(&'static str, &'static str),
}

/// A dead letter of `lane` from `from`, dead at `dead_at_ms`, with `payload` (JSON).
pub fn letter(
    id: &str,
    from: From,
    lane: Lane,
    reason: &str,
    dead_at_ms: i64,
    payload: &str,
) -> DeadLetter {
    let origin = match from {
        From::Bot(bot, update_id) => Origin::Telegram {
            bot: bot.to_owned(),
            update_id,
            chat: Some(-100 - update_id),
            user: Some(7),
        },
        From::Source(source, key) => Origin::Signed {
            source: source.to_owned(),
            key: key.to_owned(),
            rate_key: None,
        },
    };
    DeadLetter {
        id: id.to_owned(),
        reason: reason.to_owned(),
        dead_at_ms,
        envelope: Job {
            origin,
            kind: "message".to_owned(),
            lane,
            received_at_ms: dead_at_ms - 5_000,
            payload: RawValue::from_string(payload.to_owned()).unwrap(),
            attempt: 2,
            traceparent: None,
        },
    }
}

/// `application/x-www-form-urlencoded` bodies, as a browser's form sends them.
pub trait FormBody {
    fn form_body(self, fields: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, fields: &[(&str, &str)]) -> Self {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}
