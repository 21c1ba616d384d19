//! `sluice-load bench admission`: what admission control costs, in one run on one machine.
//!
//! Three sluice-apis run side by side under the same wrk load, with limits so high that every
//! update is admitted (the cost measured is the decision, not the cheaper refusals):
//! `SLUICE_RATE_SCOPE=off` (no rate limiting, no shedding), `local` (governor buckets in the
//! process) and `redis` (one Lua script in Redis per update). On a shared machine a neighbour's
//! burst can halve one run, so they are measured in short slices, SLICES rounds of one slice
//! each, the order rotating every round; a mode's figure is the mean over its slices, and the
//! ratios local/off and redis/off (targets >= 0.95 and >= 0.7) are also given as the median of
//! the per-round ratios. A private redis-server (flushed before each slice, so that every
//! slice starts from an empty queue) and a database of the run's own are removed at the end.
//!
//! # Layout
//! - this file: the knobs, the servers and the order of the slices;
//! - `slices`: the table's rows, the means, ratios and medians, and their printed form.

pub mod slices;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::Command;

use self::slices::{MODES, Slice, header, mode_for, summarize};
use super::child::{Started, free_port, run_quiet};
use super::knobs::{WrkDuration, random_secret, timestamp};
use super::redis_probe::RedisProbe;
use super::wrk::{HumanSummary, Wrk, WrkRun};
use super::{exit_code, pg, procfs, until_signal};

/// The bench's settings: each a flag and the environment variable the bash script documented.
#[derive(Debug, Clone, clap::Args)]
pub struct AdmissionArgs {
    /// Where sluice-api is (copied into the run's folder).
    #[arg(long, env = "BENCH_BIN_DIR")]
    pub bin_dir: PathBuf,
    /// The wrk request script.
    #[arg(long, default_value = "loadtests/bench/admission/update.lua")]
    pub script: PathBuf,
    /// Where the run's folder goes.
    #[arg(long, default_value = "loadtests/results")]
    pub results: PathBuf,
    /// wrk -t.
    #[arg(long, env, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub wrk_threads: u32,
    /// wrk -c.
    #[arg(long, env, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub wrk_connections: u32,
    /// One measured slice.
    #[arg(long, env, default_value = "3s")]
    pub wrk_slice: WrkDuration,
    /// Rounds of one slice per mode.
    #[arg(long, env, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub slices: u32,
    /// Unmeasured warm-up of each api at the start.
    #[arg(long, env, default_value = "2s")]
    pub wrk_warmup: WrkDuration,
    /// Postgres server URL without database.
    #[arg(long, env, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub bench_pg_url: String,
}

const BOT: &str = "bench";

/// Limits no load here can reach, and no shedding: every update is admitted and enqueued.
pub(crate) const UNREACHABLE_LIMITS: [(&str, &str); 11] = [
    ("SLUICE_RATE_GLOBAL_PER_SEC", "1e9"),
    ("SLUICE_RATE_GLOBAL_BURST", "1000000000"),
    ("SLUICE_RATE_BOT_PER_SEC", "1e9"),
    ("SLUICE_RATE_BOT_BURST", "1000000000"),
    ("SLUICE_RATE_CHAT_PER_MIN", "1e9"),
    ("SLUICE_RATE_CHAT_BURST", "1000000000"),
    ("SLUICE_SHED_DEPTH_LOW", "off"),
    ("SLUICE_SHED_DEPTH_NORMAL", "off"),
    ("SLUICE_SHED_DEPTH_HIGH", "off"),
    ("SLUICE_AUTO_MIGRATE", "false"),
    ("RUST_LOG", "warn"),
];

/// The run's processes and database, removed however it ends.
#[derive(Default)]
struct Resources {
    processes: Vec<Started>,
    database: Option<String>,
}

pub async fn run(args: AdmissionArgs) -> anyhow::Result<ExitCode> {
    let out = args.results.join(format!("admission-{}", timestamp()));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut res = Resources::default();
    let result = until_signal(bench(&args, &out, &mut res)).await;
    if let Err(e) = &result {
        eprintln!("bench: error: {e:#}");
    }
    for p in res.processes.drain(..).rev() {
        p.stop().await;
    }
    if let Some(db) = res.database {
        let _ = pg::drop_database(&args.bench_pg_url, &db).await;
    }
    Ok(exit_code(&result))
}

/// The bench's own redis-server, stopped with the other processes.
async fn start_redis(out: &Path, res: &mut Resources) -> anyhow::Result<(String, RedisProbe)> {
    let (process, url, probe) = super::redis_probe::private_redis(out).await?;
    res.processes.push(process);
    Ok((url, probe))
}

/// A fresh database with sluice's tables and the bench's bot.
async fn prepare_database(
    args: &AdmissionArgs,
    api: &Path,
    secret: &str,
    res: &mut Resources,
) -> anyhow::Result<String> {
    let epoch = chrono::Utc::now().timestamp();
    let db = format!("sluice_bench_admission_{epoch}_{}", std::process::id());
    pg::recreate_database(&args.bench_pg_url, &db).await?;
    res.database = Some(db.clone());
    let url = format!("{}/{db}", args.bench_pg_url);
    let mut migrate = Command::new(api);
    migrate.arg("migrate").env("DATABASE_URL", &url);
    run_quiet("sluice-api migrate", migrate).await?;
    let mut bots = Command::new(api);
    bots.args(["bots", "add", BOT, "--secret", secret])
        .env("DATABASE_URL", &url);
    run_quiet("sluice-api bots add", bots).await?;
    Ok(url)
}

/// What the slices share: the settings, the run's folder, wrk and its script's environment.
struct Slicer<'a> {
    args: &'a AdmissionArgs,
    out: &'a Path,
    wrk: Wrk,
    env: Vec<(&'static str, String)>,
}

impl Slicer<'_> {
    fn wrk_run(&self, url: &str, duration: WrkDuration, latency: bool) -> WrkRun {
        WrkRun {
            url: url.to_owned(),
            duration,
            latency,
            env: self.env.clone(),
        }
    }

    /// One sluice-api per mode, each warmed up; the webhook URL of each, in `MODES` order.
    async fn start_apis(
        &self,
        urls: (&str, &str),
        res: &mut Resources,
    ) -> anyhow::Result<Vec<String>> {
        let (database_url, redis_url) = urls;
        let mut webhooks = Vec::new();
        for mode in MODES {
            let (port, admin) = (free_port()?, free_port()?);
            let mut cmd = Command::new(self.out.join("sluice-api"));
            cmd.envs(UNREACHABLE_LIMITS)
                .env("DATABASE_URL", database_url)
                .env("REDIS_URL", redis_url)
                .env("SLUICE_RATE_SCOPE", mode)
                .env("SLUICE_API_ADDR", format!("127.0.0.1:{port}"))
                .env("SLUICE_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
                .env("SLUICE_QUEUE_PREFIX", format!("bench-{mode}"));
            let mut api = Started::spawn(&format!("api-{mode}"), cmd, self.out)?;
            let ready = api
                .wait_ready(([127, 0, 0, 1], admin).into(), Duration::from_secs(10))
                .await;
            res.processes.push(api);
            ready?;
            let url = format!("http://127.0.0.1:{port}/webhook/telegram/{BOT}");
            let warmup = self.wrk_run(&url, self.args.wrk_warmup, false);
            self.wrk
                .run(&warmup, &self.out.join(format!("wrk-warmup-{mode}.txt")))
                .await?;
            webhooks.push(url);
        }
        Ok(webhooks)
    }

    /// SLICES rounds of one slice per mode, each from an empty Redis (no worker runs: the queue
    /// only grows); the table is printed and kept in `slices.txt` as it grows.
    async fn slices(&self, urls: &[String], redis: &RedisProbe) -> anyhow::Result<Vec<Slice>> {
        println!("{}", header());
        let (mut slices, mut table) = (Vec::new(), String::new());
        for round in 1..=self.args.slices {
            for k in 0..MODES.len() {
                let mode = mode_for(round, k);
                let url = &urls[MODES.iter().position(|m| *m == mode).expect("a mode")];
                let _: () = redis::cmd("FLUSHALL")
                    .query_async(&mut redis.conn())
                    .await?;
                let run = self.wrk_run(url, self.args.wrk_slice, true);
                let out = self.out.join(format!("wrk-{mode}-{round}.txt"));
                let text = self.wrk.run(&run, &out).await?;
                let wrk = HumanSummary::parse(&text).with_context(|| out.display().to_string())?;
                let slice = Slice {
                    mode: mode.to_owned(),
                    round,
                    wrk,
                };
                println!("{}", slice.row());
                table.push_str(&(slice.row() + "\n"));
                std::fs::write(self.out.join("slices.txt"), &table)?;
                slices.push(slice);
            }
        }
        Ok(slices)
    }

    /// Prints the means and ratios and writes them to `summary.txt` and `summary.json`.
    fn report(&self, slices: &[Slice]) -> anyhow::Result<()> {
        let args = self.args;
        let summary = summarize(slices, args.slices);
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!(
            "\nmean of {} slices of {} per mode (wrk -t{} -c{}, {} cores, load average {}):",
            args.slices,
            args.wrk_slice,
            args.wrk_threads,
            args.wrk_connections,
            procfs::nproc(),
            load.join(" ")
        );
        print!("{}", summary.render());
        std::fs::write(self.out.join("summary.txt"), summary.render())?;
        let json = serde_json::to_string_pretty(&summary.rounded())? + "\n";
        std::fs::write(self.out.join("summary.json"), json)?;
        println!("raw output: {}", self.out.display());
        Ok(())
    }
}

async fn bench(args: &AdmissionArgs, out: &Path, res: &mut Resources) -> anyhow::Result<()> {
    // The target directory may be shared with other branches' builds: run a copy of this one.
    let (from, api) = (args.bin_dir.join("sluice-api"), out.join("sluice-api"));
    std::fs::copy(&from, &api).with_context(|| format!("copying {}", from.display()))?;
    let (redis_url, redis) = start_redis(out, res).await?;
    let secret = random_secret();
    let database_url = prepare_database(args, &api, &secret, res).await?;
    let wrk = Wrk {
        threads: args.wrk_threads,
        connections: args.wrk_connections,
        script: args.script.clone(),
    };
    let slicer = Slicer {
        args,
        out,
        wrk,
        env: vec![("BENCH_SECRET", secret)],
    };
    let urls = slicer.start_apis((&database_url, &redis_url), res).await?;
    let slices = slicer.slices(&urls, &redis).await?;
    slicer.report(&slices)
}
