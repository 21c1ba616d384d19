//! Per-chat ordering across worker replicas (issue 15), end to end: the real `sluice-api` and
//! `sluice-worker` binaries, the `forward` handler posting to a receiver of the test's own
//! ([`receiver`]), real Redis and Postgres.
//!
//! The three loads (clean, crash, poison) are the issue's 200 chats × 50 updates: the whole file
//! ran in 112 s in debug on a busy 2-core machine. `SLUICE_ORDER_TEST_CHATS` and
//! `SLUICE_ORDER_TEST_UPDATES` set their size (a smaller run while iterating).

mod hot;
mod poison;
mod receiver;
mod runs;
mod scenarios;
mod stored;

use std::{collections::HashMap, time::Duration};

use sluice_testkit::{TestDb, prefix, redis_url};

use self::receiver::{Call, Receiver};
use crate::{
    api::{ApiProc, add_bot, spawn_api},
    common::{WorkerProc, spawn_worker},
    target::SECRET,
};

const BOT: &str = "order_bot";
const TOKEN: &str = "order-secret";

/// A deployment under test: one api, its workers, the receiver behind the forward handler.
struct Stack {
    db: TestDb,
    redis: String,
    prefix: String,
    api: ApiProc,
    workers: Vec<WorkerProc>,
    receiver: Receiver,
    worker_env: Vec<(String, String)>,
    client: reqwest::Client,
}

impl Stack {
    /// `mode`: `SLUICE_ORDERING`; `extra`: worker settings on top of the test's.
    async fn start(mode: &str, workers: usize, extra: &[(&str, &str)]) -> Stack {
        let db = TestDb::fresh().await.unwrap();
        add_bot(&db.url, BOT, TOKEN).await;
        let (redis, prefix) = (redis_url(), prefix());
        let api_env = [
            ("SLUICE_ORDERING", mode),
            // Admission is not under test: the load is far above the default per-chat limit.
            ("SLUICE_RATE_GLOBAL_PER_SEC", "1e9"),
            ("SLUICE_RATE_GLOBAL_BURST", "1000000000"),
            ("SLUICE_RATE_BOT_PER_SEC", "1e9"),
            ("SLUICE_RATE_BOT_BURST", "1000000000"),
            ("SLUICE_RATE_CHAT_PER_MIN", "1e9"),
            ("SLUICE_RATE_CHAT_BURST", "1000000000"),
            ("SLUICE_ENQUEUE_TIMEOUT", "5s"),
        ];
        let api = spawn_api(&db.url, &redis, &prefix, &api_env).await;
        let receiver = Receiver::start().await;
        let mut worker_env: Vec<(String, String)> = [
            ("SLUICE_ORDERING", mode),
            ("SLUICE_HANDLER", "forward"),
            ("SLUICE_FORWARD_URL", receiver.url.as_str()),
            ("SLUICE_FORWARD_SECRET", SECRET),
            // Short, for the crash test; not so short that a worker slowed down by the load on a
            // busy machine misses heartbeats and is taken for dead while its job still runs.
            ("SLUICE_ORPHAN_TIMEOUT", "5s"),
            ("SLUICE_RETRY_MAX_ATTEMPTS", "50"),
            ("SLUICE_RETRY_BASE", "100ms"),
            ("SLUICE_RETRY_MAX", "300ms"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        worker_env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut stack = Stack {
            db,
            redis,
            prefix,
            api,
            workers: Vec::new(),
            receiver,
            worker_env,
            client: reqwest::Client::new(),
        };
        for _ in 0..workers {
            let w = stack.spawn_worker();
            stack.workers.push(w);
        }
        stack
    }

    fn spawn_worker(&self) -> WorkerProc {
        let env: Vec<(&str, &str)> = self
            .worker_env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        spawn_worker(&self.db.url, &self.redis, &self.prefix, &env)
    }

    /// Posts one update as Telegram does: again after a failure, until it is answered 200.
    async fn post(&self, body: &str) {
        let url = format!("{}/webhook/telegram/{BOT}", self.api.base);
        for _ in 0..100 {
            let sent = self
                .client
                .post(&url)
                .header("X-Telegram-Bot-Api-Secret-Token", TOKEN)
                .body(body.to_owned())
                .send()
                .await;
            if matches!(&sent, Ok(r) if r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the api never took {body}");
    }

    async fn dead_letters(&self, n: usize, within: Duration) -> (bool, String) {
        crate::common::wait_for_dead_letters(&self.redis, &self.prefix, n, within).await
    }
}

/// The sum of the samples in `metrics` whose line starts with `prefix` and holds `label`.
fn metric_sum(metrics: &str, prefix: &str, label: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(prefix) && l.contains(label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// `sluice_order_next_total{how=...}` of one worker.
async fn next_total(worker: &WorkerProc, how: &str) -> f64 {
    metric_sum(
        &worker.metrics().await,
        "sluice_order_next_total{",
        &format!(r#"how="{how}""#),
    )
}

/// Calls of the ordering script `script` the worker timed (`sluice_order_script_seconds`), and
/// whether its histogram has the round trip's fine buckets (the first at 50 µs).
async fn script_calls(worker: &WorkerProc, script: &str) -> (f64, bool) {
    let label = format!(r#"script="{script}""#);
    let metrics = worker.metrics().await;
    let calls = metric_sum(&metrics, "sluice_order_script_seconds_count{", &label);
    let fine = metrics.lines().any(|l| {
        l.starts_with("sluice_order_script_seconds_bucket{")
            && l.contains(&label)
            && l.contains(r#"le="0.00005""#)
    });
    (calls, fine)
}

fn message(update_id: i64, chat: i64) -> String {
    format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"from":{{"id":{chat},"is_bot":false,"first_name":"U"}},"chat":{{"id":{chat},"type":"private"}},"date":1764000000,"text":"step {update_id}"}}}}"#
    )
}

fn callback(update_id: i64, chat: i64, user: i64) -> String {
    format!(
        r#"{{"update_id":{update_id},"callback_query":{{"id":"cb{update_id}","from":{{"id":{user},"is_bot":false,"first_name":"U"}},"message":{{"message_id":1,"chat":{{"id":{chat},"type":"group","title":"G"}},"date":1764000000,"text":"menu"}},"chat_instance":"ci","data":"press"}}}}"#
    )
}

/// The load's size: chats, updates per chat, unless set from the environment.
fn load_size(default: (i64, i64)) -> (i64, i64) {
    let var = |name: &str, default: i64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    (
        var("SLUICE_ORDER_TEST_CHATS", default.0),
        var("SLUICE_ORDER_TEST_UPDATES", default.1),
    )
}

/// Asserts that calls of one key never overlap and start in update_id order (a re-run of an
/// update before the next one started is allowed: at least once). `key_of` maps an update to
/// its key. Answers the number of keys seen.
fn assert_in_order(calls: &[Call], key_of: impl Fn(i64) -> i64) -> usize {
    let mut by_key: HashMap<i64, Vec<Call>> = HashMap::new();
    for c in calls {
        by_key.entry(key_of(c.update_id)).or_default().push(*c);
    }
    for (key, calls) in &mut by_key {
        calls.sort_by_key(|c| c.start);
        for pair in calls.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert!(
                b.start >= a.end,
                "key {key}: update {} started {:?} before update {} ended",
                b.update_id,
                a.end - b.start,
                a.update_id
            );
            assert!(
                b.update_id >= a.update_id,
                "key {key}: update {} started after the later update {}",
                b.update_id,
                a.update_id
            );
        }
    }
    by_key.len()
}
