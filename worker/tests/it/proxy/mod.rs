//! The Bot API proxy (`SLUICE_BOTAPI_PROXY_ADDR`) of real `sluice-worker` processes, in front
//! of the testkit's Telegram stand-in, on real Redis and Postgres: what reaches the stand-in, what
//! comes back, what never leaves, and what the logs and metrics show.

mod limits;
mod measure;
mod upload;

use std::{path::PathBuf, time::Duration};

use serde_json::{Value, json};
use sluice_testkit::{
    TestDb,
    bots::{TEST_SECRETS_KEY, add_bot_with_token, test_token},
    free_port, prefix, redis_url,
    telegram_stand_in::{Injection, StandInLimits, TelegramStandIn},
    wait_until,
};

use crate::common::{WorkerProc, spawn_worker_logged};

/// A database with bots, a stand-in, and one key prefix for the workers to share.
pub struct Setup {
    pub db: TestDb,
    pub prefix: String,
    pub stand_in: TelegramStandIn,
}

/// One worker with its proxy.
pub struct Proxied {
    pub worker: WorkerProc,
    pub log: PathBuf,
    /// `http://127.0.0.1:<port>`
    pub url: String,
}

impl Setup {
    /// Bots `b1..=bots` with tokens `test_token(n)`, a stand-in with `limits`.
    pub async fn new(bots: u32, limits: StandInLimits) -> Setup {
        let db = TestDb::fresh().await.unwrap();
        for n in 1..=bots {
            add_bot_with_token(&db.pool, &format!("b{n}"), &test_token(n))
                .await
                .unwrap();
        }
        Setup {
            db,
            prefix: prefix(),
            stand_in: TelegramStandIn::start(limits).await.unwrap(),
        }
    }

    /// A worker (debug log, so every request's line is written) serving the proxy; returns
    /// once the proxy answers.
    pub async fn worker(&self, env: &[(&str, &str)]) -> Proxied {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let api = self.stand_in.url();
        let mut all = vec![
            ("SLUICE_SECRETS_KEY", TEST_SECRETS_KEY),
            ("SLUICE_TELEGRAM_API_URL", api.as_str()),
            ("SLUICE_BOTAPI_PROXY_ADDR", addr.as_str()),
            (
                "RUST_LOG",
                "debug,sqlx=warn,hyper=warn,reqwest=warn,h2=warn",
            ),
        ];
        all.extend_from_slice(env);
        let (worker, log) = spawn_worker_logged(&self.db.url, &redis_url(), &self.prefix, &all);
        let url = format!("http://{addr}");
        let probe = format!("{url}/");
        let up = wait_until(Duration::from_secs(30), || {
            let probe = probe.clone();
            async move { reqwest::get(probe).await.is_ok() }
        })
        .await;
        assert!(up, "the proxy listens");
        Proxied { worker, log, url }
    }

    /// The stand-in's calls for bot `n`.
    pub fn calls_of(&self, n: u32) -> Vec<sluice_testkit::telegram_stand_in::Call> {
        let id = bot_id(n);
        self.stand_in
            .calls()
            .into_iter()
            .filter(|c| c.bot == id)
            .collect()
    }
}

/// The stand-in's bot id of bot `bn` (its token before `:`).
pub fn bot_id(n: u32) -> String {
    test_token(n).split(':').next().unwrap().to_owned()
}

/// The value of every sample of `name` whose labels include all of `labels`, summed.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn post_json(url: &str, body: Value) -> (u16, String) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_tokens_only_and_answers_verbatim() {
    let s = Setup::new(1, StandInLimits::default()).await;
    let p = s.worker(&[]).await;
    let token = test_token(1);
    let call = |method: &str| format!("{}/bot{token}/{method}", p.url);

    // JSON: the stand-in's answer comes back as it was sent (here a refusal, byte for byte).
    s.stand_in.inject(Injection {
        bot: bot_id(1),
        error_code: 400,
        retry_after: None,
        count: 1,
    });
    let (status, body) =
        post_json(&call("sendMessage"), json!({"chat_id": 42, "text": "hi"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        r#"{"description":"Injected by the stand-in","error_code":400,"ok":false}"#
    );
    let (status, body) =
        post_json(&call("sendMessage"), json!({"chat_id": 42, "text": "hi"})).await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["result"]["text"], "hi");
    assert_eq!(answer["result"]["chat"]["id"], 42);

    // A form (python-telegram-bot, aiogram) and a GET with a query string.
    let r = reqwest::Client::new()
        .post(call("sendMessage"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("chat_id=43&text=form")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(format!("{}?chat_id=44&text=get", call("sendMessage")))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = reqwest::get(call("getMe")).await.unwrap();
    assert_eq!(r.status(), 200);
    let seen: Vec<(String, Option<String>, u16)> = s
        .calls_of(1)
        .into_iter()
        .map(|c| (c.method, c.chat, c.status))
        .collect();
    let chat = |c: &str| Some(c.to_owned());
    assert_eq!(
        seen,
        vec![
            ("sendMessage".into(), chat("42"), 400),
            ("sendMessage".into(), chat("42"), 200),
            ("sendMessage".into(), chat("43"), 200),
            ("sendMessage".into(), chat("44"), 200),
            ("getMe".into(), None, 200),
        ]
    );

    // An unknown token: Telegram's own 401, and nothing at the stand-in.
    let stranger = "999999:AAHunknownunknownunknownunknownunkn";
    let before = s.stand_in.calls().len();
    let (status, body) = post_json(
        &format!("{}/bot{stranger}/sendMessage", p.url),
        json!({"chat_id": 42, "text": "hi"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        r#"{"description":"Unauthorized","error_code":401,"ok":false}"#
    );
    let r = reqwest::get(format!("{}/file/bot{stranger}/photos/a.jpg", p.url))
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let refused = "sluice_botapi_proxy_refused_total";
    let metrics = p.worker.metrics().await;
    assert_eq!(
        metric(&metrics, refused, &[r#"reason="unknown_token""#]),
        2.0
    );

    // Other paths and verbs, hostile or not.
    let client = reqwest::Client::new();
    for (path, want) in [
        ("/metrics".to_owned(), 404),
        (format!("/bot{token}/send-Message"), 404),
        (format!("/bot{token}/{}", "a".repeat(65)), 404),
        (format!("/bot{token}/sendMessage/extra"), 404),
        (format!("/bot{}/getMe", "1".repeat(200)), 404),
    ] {
        let r = client.get(format!("{}{path}", p.url)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), want, "{path}");
    }
    let r = client.put(call("sendMessage")).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = client
        .post(call("sendMessage"))
        .header("content-type", "text/plain")
        .body("chat_id=1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        s.stand_in.calls().len(),
        before,
        "refused requests never leave"
    );

    // A token added while the worker runs is served within about a second.
    add_bot_with_token(&s.db.pool, "b2", &test_token(2))
        .await
        .unwrap();
    let new = format!("{}/bot{}/getMe", p.url, test_token(2));
    let served = wait_until(Duration::from_secs(3), || {
        let new = new.clone();
        async move { reqwest::get(new).await.unwrap().status() == 200 }
    })
    .await;
    assert!(served, "a new token is served within 3 s");

    // Counted, and no token anywhere in the metrics or the log.
    // (The polls above count as unknown until the index has the new token.)
    let metrics = p.worker.metrics().await;
    assert!(metric(&metrics, refused, &[r#"reason="unknown_token""#]) >= 2.0);
    assert!(metric(&metrics, refused, &[r#"reason="not_found""#]) >= 5.0);
    let calls = "sluice_botapi_calls_total";
    let ok_proxy = [
        r#"method="sendMessage""#,
        r#"outcome="ok""#,
        r#"via="proxy""#,
    ];
    assert_eq!(metric(&metrics, calls, &ok_proxy), 3.0);
    let log = std::fs::read_to_string(&p.log).unwrap();
    assert!(log.contains("Bot API proxy request"), "debug lines written");
    for secret in [token.as_str(), &test_token(2), stranger] {
        let tail = secret.split(':').nth(1).unwrap();
        assert!(!metrics.contains(tail), "a token in the metrics");
        assert!(!log.contains(tail), "a token in the log");
    }
}
