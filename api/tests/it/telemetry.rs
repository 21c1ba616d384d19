//! Following one request: the request id (kept, replaced or made, and returned), the access
//! line on the real binary's log (its fields, its level, no colours when piped), the
//! telemetry settings that stop start-up when malformed, and `sluice_build_info`.

use std::{process::Stdio, time::Duration};

use serde_json::Value;
use sluice_testkit::{TestDb, prefix, redis_url};
use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStderr, Command},
};

use crate::{
    cli::{api, stderr},
    common::{message, spawn_app},
};

#[tokio::test]
async fn a_malformed_log_or_trace_setting_stops_start_up_naming_it() {
    for (var, value) in [
        ("RUST_LOG", "info,sluice_api=verbose"),
        ("RUST_LOG", "info,=["),
        ("OTEL_TRACES_SAMPLER", "sometimes"),
        ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
    ] {
        let out = api(&[], &[("DATABASE_URL", "postgres://x/y"), (var, value)]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{var}={value}: {err}");
        assert!(err.contains(var), "{var}={value}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
}

#[tokio::test]
async fn a_request_id_is_kept_when_plain_replaced_when_not_and_always_returned() {
    let app = spawn_app().await;
    let id_of = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let post = |id: Option<&str>| {
        let mut req = app
            .client
            .post(app.webhook_url(crate::common::BOT))
            .header("X-Telegram-Bot-Api-Secret-Token", crate::common::SECRET)
            .body(message(1, 5, "hi"));
        if let Some(id) = id {
            req = req.header("x-request-id", id);
        }
        req.send()
    };
    let kept = post(Some("lb-7f3a:9.1_x")).await.unwrap();
    assert_eq!(id_of(&kept), "lb-7f3a:9.1_x");
    let long = "a".repeat(65);
    for hostile in [long.as_str(), "a b", "<script>", "x\"y"] {
        let replaced = post(Some(hostile)).await.unwrap();
        let id = id_of(&replaced);
        assert_ne!(id, hostile);
        assert!(ulid::Ulid::from_string(&id).is_ok(), "{id}");
    }
    let made = post(None).await.unwrap();
    assert!(ulid::Ulid::from_string(&id_of(&made)).is_ok());
    // Answers that no route makes carry one too.
    let missing = app
        .client
        .get(format!("http://{}/nowhere", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert!(ulid::Ulid::from_string(&id_of(&missing)).is_ok());
    app.stop().await;
}

#[tokio::test]
async fn build_info_is_exported() {
    let app = spawn_app().await;
    let metrics = app.admin_get("/metrics").await.text().await.unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("sluice_build_info{"))
        .unwrap_or_else(|| panic!("no sluice_build_info:\n{metrics}"));
    let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    let revision = format!("revision=\"{}\"", sluice_shared::metrics::REVISION);
    assert!(
        line.contains(&version) && line.contains(&revision),
        "{line}"
    );
    assert!(line.ends_with(" 1"), "{line}");
    app.stop().await;
}

/// A `sluice-api` process with its stderr piped, listening on a port it chose.
struct Logged {
    child: Child,
    lines: Lines<BufReader<ChildStderr>>,
    /// Every line read so far.
    log: Vec<String>,
    base: String,
}

impl Logged {
    async fn start(db: &TestDb, env: &[(&str, &str)]) -> Logged {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-api"));
        cmd.env("DATABASE_URL", &db.url)
            .env("REDIS_URL", redis_url())
            .env("SLUICE_QUEUE_PREFIX", prefix())
            .env("SLUICE_API_ADDR", "127.0.0.1:0")
            .env("SLUICE_ADMIN_ADDR", "127.0.0.1:0")
            .env("SLUICE_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .envs(env.iter().copied());
        let mut child = cmd.spawn().expect("sluice-api starts");
        let lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut p = Logged {
            child,
            lines,
            log: Vec::new(),
            base: String::new(),
        };
        let listening = p.until(|l| l.contains("sluice-api listening")).await;
        let addr = listening
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .unwrap_or_else(|| panic!("no address in {listening}"));
        p.base = format!("http://127.0.0.1:{addr}");
        p
    }

    /// Reads the log until a line matches (within 30 s).
    async fn until(&mut self, found: impl Fn(&str) -> bool) -> String {
        let read = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = self.lines.next_line().await.unwrap() {
                self.log.push(line.clone());
                if found(&line) {
                    return Some(line);
                }
            }
            None
        });
        match read.await {
            Ok(Some(line)) => line,
            _ => panic!("not in the log:\n{}", self.log.join("\n")),
        }
    }

    async fn post_update(&self, request_id: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(format!("{}/webhook/telegram/logged_bot", self.base))
            .header("X-Telegram-Bot-Api-Secret-Token", "tok")
            .header("x-request-id", request_id)
            .body(message(31, 5, "hi"))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn each_request_is_one_access_line_with_its_fields_and_no_colours() {
    let db = TestDb::fresh().await.unwrap();
    let add = api(
        &["bots", "add", "logged_bot"],
        &[("DATABASE_URL", &db.url), ("SLUICE_BOT_SECRET", "tok")],
    )
    .await;
    assert!(add.status.success(), "{}", stderr(&add));

    let mut json = Logged::start(&db, &[]).await;
    assert_eq!(json.post_update("req-json-1").await.status(), 200);
    let line = json.until(|l| l.contains("req-json-1")).await;
    let v: Value = serde_json::from_str(&line).unwrap();
    let span = &v["span"];
    assert_eq!(v["target"], "sluice::access", "{line}");
    assert_eq!(v["level"], "INFO", "{line}");
    assert_eq!(v["status"], 200, "{line}");
    assert!(v["duration_ms"].as_f64().is_some(), "{line}");
    assert_eq!(span["method"], "POST", "{line}");
    assert_eq!(span["route"], "/webhook/telegram/{bot}", "{line}");
    assert_eq!(span["bot"], "logged_bot", "{line}");
    assert_eq!(span["update_id"], 31, "{line}");
    assert_eq!(span["outcome"], "accepted", "{line}");
    json.child.kill().await.unwrap();
    while let Ok(Some(line)) = json.lines.next_line().await {
        json.log.push(line);
    }
    let lines = json.log.iter().filter(|l| l.contains("req-json-1")).count();

    // Text, as a person reads it, but piped: no escape codes. The access log off: no line.
    let mut text = Logged::start(
        &db,
        &[("SLUICE_LOG_FORMAT", "text"), ("SLUICE_ACCESS_LOG", "off")],
    )
    .await;
    assert_eq!(text.post_update("req-text-1").await.status(), 200);
    text.child.kill().await.unwrap();
    while let Ok(Some(line)) = text.lines.next_line().await {
        text.log.push(line);
    }
    let log = text.log.join("\n");
    assert!(!log.contains('\x1b'), "escape codes in a piped log:\n{log}");
    assert!(
        !log.contains("req-text-1"),
        "an access line while off:\n{log}"
    );
    assert_eq!(lines, 1, "one access line per request");
    db.drop_db().await;
}
