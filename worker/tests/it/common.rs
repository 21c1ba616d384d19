//! Helpers: a `sluice-worker` process a test can SIGKILL or SIGTERM, and jobs queued straight
//! into Redis through the shared push (`sluice_shared::queue::Pusher`), as the api queues them.

#![allow(dead_code)]

use std::{
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use sluice_shared::{
    job::{Job, Origin},
    lanes::Lane,
    queue::{PushError, PushOptions, Pushed, Pusher, QueueConfig},
};
use sluice_worker::config::WorkerConfig;
use tokio::process::{Child, Command};

/// A running `sluice-worker`.
pub struct WorkerProc {
    child: Child,
    pub admin_port: u16,
}

/// Starts the worker binary on `db_url`/`redis_url` under `prefix`, with extra env settings.
pub fn spawn_worker(
    db_url: &str,
    redis_url: &str,
    prefix: &str,
    env: &[(&str, &str)],
) -> WorkerProc {
    let log = std::env::var("WORKER_LOG").unwrap_or_else(|_| "warn".into());
    start(
        worker_command(db_url, redis_url, prefix, env, &log),
        Stdio::inherit(),
    )
}

/// The worker binary set up for a test: its own admin port, no migrations, `env` on top.
fn worker_command(
    db_url: &str,
    redis_url: &str,
    prefix: &str,
    env: &[(&str, &str)],
    log: &str,
) -> (Command, u16) {
    let admin_port = sluice_testkit::free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-worker"));
    cmd.env("DATABASE_URL", db_url)
        .env("REDIS_URL", redis_url)
        .env("SLUICE_QUEUE_PREFIX", prefix)
        .env("SLUICE_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        .env("SLUICE_AUTO_MIGRATE", "false")
        .env("RUST_LOG", log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    (cmd, admin_port)
}

fn start((mut cmd, admin_port): (Command, u16), stderr: impl Into<Stdio>) -> WorkerProc {
    let child = cmd.stderr(stderr).spawn().expect("sluice-worker starts");
    WorkerProc { child, admin_port }
}

impl WorkerProc {
    /// SIGKILL: no chance to release or acknowledge anything.
    pub async fn kill9(&mut self) {
        self.child.kill().await.expect("SIGKILL delivered");
    }

    /// SIGTERM, as Kubernetes sends before a pod goes away.
    pub async fn sigterm(&mut self) {
        let pid = self.child.id().expect("worker still running").to_string();
        let st = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .unwrap();
        assert!(st.success());
    }

    pub async fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// The process id (for reading its memory from /proc).
    pub fn pid(&self) -> u32 {
        self.child.id().expect("worker still running")
    }

    pub async fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.admin_port);
        match reqwest::get(url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }
}

/// The api's enqueue without its batching and budget: the shared push with the api's default
/// dedup keys, no replicas.
pub struct Enqueuer {
    pusher: Pusher,
}

pub fn enqueuer(redis_url: &str, prefix: &str) -> Enqueuer {
    let conn = sluice_shared::queue::connect(redis_url, Duration::from_secs(5)).unwrap();
    Enqueuer {
        pusher: Pusher::new(conn, prefix, &dedup_ttl(), PushOptions::default()),
    }
}

fn dedup_ttl() -> QueueConfig {
    QueueConfig {
        dedup_ttl: Duration::from_secs(25 * 3600),
    }
}

impl Enqueuer {
    /// Queues `env` in its lane, due now, claiming its dedup key.
    pub async fn enqueue(&self, env: &Job) -> Result<Pushed, PushError> {
        let pushed = self
            .enqueue_all(env.lane, std::slice::from_ref(env))
            .await?;
        Ok(pushed[0])
    }

    /// Queues `envs` in `lane` with one script call, each claiming its dedup key.
    pub async fn enqueue_all(&self, lane: Lane, envs: &[Job]) -> Result<Vec<Pushed>, PushError> {
        let encoded: Vec<(Vec<u8>, Option<String>)> = envs
            .iter()
            .map(|env| {
                (
                    serde_json::to_vec(env).unwrap(),
                    Some(env.origin.dedup_key()),
                )
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        self.pusher.push_encoded(lane, &encoded, deadline).await
    }
}

/// Queues `n` message updates (update_id 1..=n) for `bot` in `lane`, 64 per script call.
pub async fn backlog(enq: &Enqueuer, bot: &str, n: i64, lane: Lane) {
    let ids: Vec<i64> = (1..=n).collect();
    for chunk in ids.chunks(64) {
        let envs: Vec<_> = chunk.iter().map(|&id| envelope(bot, id, lane)).collect();
        let pushed = enq.enqueue_all(lane, &envs).await.unwrap();
        assert!(pushed.iter().all(|p| *p == Pushed::Queued), "{pushed:?}");
    }
}

pub fn envelope(bot: &str, update_id: i64, lane: Lane) -> Job {
    let chat = 1000 + update_id % 50;
    let raw = format!(
        r#"{{"update_id":{update_id},"message":{{"message_id":{update_id},"from":{{"id":{chat},"is_bot":false,"first_name":"U"}},"chat":{{"id":{chat},"type":"private"}},"date":1764000000,"text":"hello {update_id}"}}}}"#
    );
    Job {
        origin: Origin::Telegram {
            bot: bot.to_owned(),
            update_id,
            chat: Some(chat),
            user: Some(chat),
        },
        kind: "message".into(),
        lane,
        received_at_ms: chrono_now_ms(),
        payload: serde_json::value::RawValue::from_string(raw).unwrap(),
        attempt: 0,
        traceparent: None,
    }
}

fn chrono_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Update rows a handler finished with (`handled_at` set).
pub async fn handled_rows(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM updates WHERE handled_at IS NOT NULL")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Rows, distinct update_ids, and the number of (bot, update_id) present more than once.
pub async fn row_stats(pool: &sqlx::PgPool) -> (i64, i64) {
    sqlx::query_as("SELECT count(*), count(DISTINCT (bot, update_id)) FROM updates")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Jobs still pending or in flight in every lane under `prefix`.
pub async fn unfinished(redis_url: &str, prefix: &str) -> i64 {
    let mut total = in_flight(redis_url, prefix).await;
    for lane in ["high", "normal", "low"] {
        total += sluice_testkit::queue_len(redis_url, prefix, lane)
            .await
            .unwrap();
    }
    total
}

/// Jobs in some consumer's in-flight set, every lane under `prefix`.
pub async fn in_flight(redis_url: &str, prefix: &str) -> i64 {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut total = 0;
    for set in sluice_testkit::scan(&mut conn, &format!("{prefix}:*:inflight:*")).await {
        let n: i64 = redis::cmd("SCARD")
            .arg(set)
            .query_async(&mut conn)
            .await
            .unwrap();
        total += n;
    }
    total
}

/// Queues updates `ids` for `bot` in `lane` with the shared push, 1 000 per script call: a large
/// backlog in seconds. Same job format and idempotency keys as the api.
pub async fn bulk_backlog(
    redis_url: &str,
    prefix: &str,
    bot: &str,
    ids: std::ops::Range<i64>,
    lane: Lane,
) {
    let conn = sluice_shared::queue::connect(redis_url, Duration::from_secs(30)).unwrap();
    let enq = Enqueuer {
        pusher: Pusher::new(conn, prefix, &dedup_ttl(), PushOptions::default()),
    };
    let ids: Vec<i64> = ids.collect();
    for chunk in ids.chunks(1000) {
        let envs: Vec<_> = chunk.iter().map(|&id| envelope(bot, id, lane)).collect();
        enq.enqueue_all(lane, &envs).await.unwrap();
    }
}

/// Runs `sluice-worker ARGS` (e.g. `dlq list`) against `redis_url`/`prefix`; returns stdout.
/// Waits up to `within` until `dlq list` shows exactly `n` dead letters; answers whether it did
/// and the listing (for the assertion message and the reasons).
pub async fn wait_for_dead_letters(
    redis_url: &str,
    prefix: &str,
    n: usize,
    within: Duration,
) -> (bool, String) {
    let shown = format!("{n} dead letter(s) shown");
    let came = sluice_testkit::wait_until(within, || async {
        worker_cli(redis_url, prefix, &["dlq", "list"])
            .await
            .contains(&shown)
    })
    .await;
    (came, worker_cli(redis_url, prefix, &["dlq", "list"]).await)
}

pub async fn worker_cli(redis_url: &str, prefix: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice-worker"))
        .args(args)
        .env("REDIS_URL", redis_url)
        .env("SLUICE_QUEUE_PREFIX", prefix)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rows per lane.
pub async fn rows_in_lane(pool: &sqlx::PgPool, lane: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM updates WHERE lane = $1")
        .bind(lane)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Sum of `sluice_jobs_total` with outcome "done" in a /metrics text.
pub fn jobs_done(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| {
            l.starts_with(sluice_shared::metrics::JOBS_TOTAL) && l.contains(r#"outcome="done""#)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Like [`spawn_worker`], with its log (stderr, at `info`) in a temporary file.
pub fn spawn_worker_logged(
    db_url: &str,
    redis_url: &str,
    prefix: &str,
    env: &[(&str, &str)],
) -> (WorkerProc, std::path::PathBuf) {
    let log = std::env::temp_dir().join(format!("{prefix}-{}.log", ulid::Ulid::generate()));
    let file = std::fs::File::create(&log).unwrap();
    let proc = start(worker_command(db_url, redis_url, prefix, env, "info"), file);
    (proc, log)
}

/// Pushes `jobs` into `lane` with the shared push in one script call and without a dedup key:
/// as if the api had queued them, whatever the api would refuse or deduplicate.
pub async fn push_jobs(
    redis_url: &str,
    prefix: &str,
    lane: Lane,
    jobs: &[sluice_shared::job::Job],
) {
    let conn = sluice_shared::queue::connect(redis_url, Duration::from_secs(30)).unwrap();
    let pusher = Pusher::new(conn, prefix, &dedup_ttl(), PushOptions::default());
    let encoded: Vec<(Vec<u8>, Option<String>)> = jobs
        .iter()
        .map(|j| (serde_json::to_vec(j).unwrap(), None))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    let pushed = pusher.push_encoded(lane, &encoded, deadline).await.unwrap();
    assert!(pushed.iter().all(|p| *p == Pushed::Queued), "{pushed:?}");
}

/// The value of counter `name` for `lane` in a /metrics text (0 when absent).
pub fn counter_for_lane(metrics: &str, name: &str, lane: &str) -> f64 {
    let label = format!(r#"lane="{lane}""#);
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The worker's settings as its command line would give them, for tests that run the library's
/// `Worker` in process (with a handler of their own) rather than the binary.
pub fn worker_config(db_url: &str, redis_url: &str, prefix: &str, extra: &[&str]) -> WorkerConfig {
    #[derive(clap::Parser)]
    struct Args {
        #[command(flatten)]
        cfg: WorkerConfig,
    }
    let mut args = vec![
        "w".to_owned(),
        format!("--database-url={db_url}"),
        format!("--redis-url={redis_url}"),
        format!("--queue-prefix={prefix}"),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    <Args as clap::Parser>::try_parse_from(args).unwrap().cfg
}
