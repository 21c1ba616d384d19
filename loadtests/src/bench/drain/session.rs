//! One run of the benchmark: its settings, names (timestamp, queue prefix, output directory),
//! connections, and how it starts sluice-api and sluice-worker.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use rand::Rng;
use tokio::process::Command;

use super::{
    config::DrainArgs,
    db::Db,
    procs::{self, Proc},
    redis_probe::Redis,
};

pub use super::show::say;

pub struct Bench {
    pub args: DrainArgs,
    /// `20261203T063512Z`: names the JSON and the directory.
    pub ts: String,
    /// `sluice-drain-<ts>-<pid>`: every phase queues under `<prefix>-<phase>`.
    pub prefix: String,
    /// `<results>/drain-<ts>/`: logs, raw tool output, samples.
    pub out: PathBuf,
    pub json_out: PathBuf,
    pub bot: String,
    pub secret: String,
    /// The benchmark's database (`<pg_url>/<db>`).
    pub database_url: String,
    pub bin_dir: PathBuf,
    pub http: reqwest::Client,
    /// The shared Redis of (a)-(d).
    pub redis: Redis,
    /// Set once the database exists.
    pub db: Option<Db>,
    pub loadavg_start: Vec<f64>,
}

fn random_secret() -> String {
    let mut rng = rand::rng();
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..24)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect();
    format!("bench-{tail}")
}

/// Where this program's sibling binaries are, unless BENCH_BIN_DIR says otherwise.
fn default_bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

impl Bench {
    pub async fn new(args: DrainArgs) -> anyhow::Result<Bench> {
        let ts = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
        let out = args.results_dir.join(format!("drain-{ts}"));
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        let redis = Redis::connect(&args.redis_url)
            .await
            .with_context(|| format!("Redis at {} (scripts/dev-up starts it)", args.redis_url))?;
        Ok(Bench {
            prefix: format!("sluice-drain-{ts}-{}", std::process::id()),
            json_out: args.results_dir.join(format!("drain-{ts}.json")),
            database_url: format!("{}/{}", args.pg_url, args.db),
            bin_dir: args.bin_dir.clone().unwrap_or_else(default_bin_dir),
            bot: "bench".into(),
            secret: random_secret(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
            redis,
            db: None,
            loadavg_start: super::host::loadavg(),
            ts,
            out,
            args,
        })
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    pub fn db(&self) -> &Db {
        self.db
            .as_ref()
            .expect("the database is created before any phase")
    }

    pub fn worker_admin(&self, i: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.args.worker_port + i))
    }

    fn rust_log() -> String {
        std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into())
    }

    /// One sluice-worker (store handler) on `prefix`, admin on worker port + `i`.
    pub fn start_worker(
        &self,
        name: &str,
        prefix: &str,
        i: u16,
        redis_url: &str,
    ) -> anyhow::Result<Proc> {
        let mut cmd = Command::new(self.bin("sluice-worker"));
        cmd.env("SLUICE_ADMIN_ADDR", self.worker_admin(i).to_string())
            .env("SLUICE_QUEUE_PREFIX", prefix)
            .env("REDIS_URL", redis_url)
            .env("DATABASE_URL", &self.database_url)
            .env("SLUICE_HANDLER", "store")
            .env("SLUICE_AUTO_MIGRATE", "false")
            .env("RUST_LOG", Self::rust_log());
        procs::spawn(&self.out, name, cmd)
    }

    /// sluice-api on `prefix`, ready.
    pub async fn start_api(&self, prefix: &str, redis_url: &str) -> anyhow::Result<Proc> {
        let mut cmd = Command::new(self.bin("sluice-api"));
        cmd.env("SLUICE_API_ADDR", self.args.api_addr.to_string())
            .env("SLUICE_ADMIN_ADDR", self.args.api_admin.to_string())
            .env("SLUICE_QUEUE_PREFIX", prefix)
            .env("REDIS_URL", redis_url)
            .env("DATABASE_URL", &self.database_url)
            .env("SLUICE_AUTO_MIGRATE", "false")
            .env("RUST_LOG", Self::rust_log());
        let mut api = procs::spawn(&self.out, &format!("sluice-api-{prefix}"), cmd)?;
        procs::wait_ready(self.args.api_admin, &mut api).await?;
        Ok(api)
    }

    /// `/metrics` of the admin listener at `addr` ("" when it does not answer), also written to
    /// `<out>/<file>` when given.
    pub async fn scrape(&self, addr: SocketAddr, file: Option<&str>) -> String {
        let text = match self.http.get(format!("http://{addr}/metrics")).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if let Some(file) = file {
            let _ = std::fs::write(self.out.join(file), &text);
        }
        text
    }

    /// Waits for a quiet machine before a phase (see [`super::host::wait_quiet`]).
    pub async fn wait_quiet(&self) -> Option<i64> {
        super::host::wait_quiet(Duration::from_secs(self.args.quiet_wait_s)).await
    }

    /// sqlx's "slow statement" warnings (a statement over 1 s: a Postgres stall) in the logs.
    pub fn slow_statements(&self, logs: &[PathBuf]) -> u64 {
        logs.iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .map(|t| t.lines().filter(|l| l.contains("slow statement")).count() as u64)
            .sum()
    }
}
