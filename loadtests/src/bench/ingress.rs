//! `sluice-load bench ingress`: the ingress benchmark of issue 2, in one run on one machine.
//!
//! - (a) `sluice-bench-reference` (bare axum: parse the JSON body, answer `{"ok":true}`) under wrk;
//! - (b) `sluice-api` with its real enqueue into Redis, under the same wrk command;
//! - (c) `sluice-api` at a fixed rate of half of (b)'s requests/s, then the reference at that rate
//!   (after the api has stopped);
//! - (d) one `sluice-worker` draining exactly `BENCH_BACKLOG` of the updates (b) and (c) queued
//!   (topped up or trimmed) into Postgres.
//!
//! It prints a summary and writes it as JSON to `<results>/ingress-<timestamp>.json`, with logs
//! and raw wrk output in `<results>/ingress-<timestamp>/`. Every process it starts is stopped at
//! the end (also on an error or Ctrl-C), the Redis keys of its prefix are deleted and its
//! database dropped (`BENCH_KEEP=1` keeps them). `loadtests/bench/ingress/run` builds the
//! binaries and starts this; its README describes the knobs.
//!
//! # Layout
//! - this file: the knobs and the order of the phases;
//! - `setup`: the run's folder, binaries, private Redis, fresh database and its clean-up;
//! - `measure`: one measured wrk run and the CPU, RSS and Redis figures around it;
//! - `phases`: (a), (b), (c) and the reference at (c)'s rate;
//! - `backlog`, `drain`, `drain_stats`: (d) and its figures;
//! - `console_idle`: with `BENCH_CONSOLE_ROUNDS`, the api with and without an idle console
//!   instead of (b)–(d);
//! - `machine`, `summary`, `assemble`, `print`: the JSON summary and its printed form.

mod assemble;
mod backlog;
mod console_idle;
mod drain;
pub mod drain_stats;
mod machine;
pub mod measure;
mod phases;
pub mod print;
mod setup;
pub mod summary;

pub use assemble::{SummaryInput, assemble};
pub use backlog::{keep_per_lane, top_up_secs};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::knobs::{WrkDuration, parse_db_name, timestamp};
use super::{exit_code, say, until_signal};

/// The bench's settings: each a flag and the environment variable the bash script documented.
#[derive(Debug, Clone, clap::Args)]
pub struct IngressArgs {
    /// Where sluice-api, sluice-worker and sluice-bench-reference are (copied into the run's
    /// folder, so that a later build cannot swap them between phases).
    #[arg(long, env = "BENCH_BIN_DIR")]
    pub bin_dir: PathBuf,
    /// The wrk request script.
    #[arg(long, default_value = "loadtests/bench/ingress/update.lua")]
    pub script: PathBuf,
    /// Where the JSON summary and the run's folder go.
    #[arg(long, default_value = "loadtests/results")]
    pub results: PathBuf,
    /// wrk -t.
    #[arg(long, env, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub wrk_threads: u32,
    /// wrk -c.
    #[arg(long, env, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub wrk_connections: u32,
    /// wrk -d of each measured phase.
    #[arg(long, env, default_value = "15s")]
    pub wrk_duration: WrkDuration,
    /// wrk -d of the unmeasured warm-up before (a) and (b).
    #[arg(long, env, default_value = "3s")]
    pub wrk_warmup: WrkDuration,
    /// Postgres server URL without database.
    #[arg(long, env, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub bench_pg_url: String,
    /// The database to (re)create.
    #[arg(long, env, default_value = "sluice_bench", value_parser = parse_db_name)]
    pub bench_db: String,
    /// Use this Redis; by default the bench starts a private redis-server (no persistence) on
    /// BENCH_REDIS_PORT, so that other users of a shared Redis stay out of its figures.
    #[arg(long, env)]
    pub bench_redis_url: Option<String>,
    #[arg(long, env, default_value_t = 16379)]
    pub bench_redis_port: u16,
    /// The reference server's listener.
    #[arg(long, env, default_value = "127.0.0.1:18080")]
    pub bench_ref_addr: SocketAddr,
    /// sluice-api's webhook listener.
    #[arg(long, env, default_value = "127.0.0.1:18081")]
    pub bench_api_addr: SocketAddr,
    #[arg(long, env, default_value = "127.0.0.1:19090")]
    pub bench_api_admin: SocketAddr,
    #[arg(long, env, default_value = "127.0.0.1:19091")]
    pub bench_worker_admin: SocketAddr,
    /// The operator console's listener in the console rounds.
    #[arg(long, env, default_value = "127.0.0.1:19092")]
    pub bench_console_addr: SocketAddr,
    /// Instead of (b)–(d): this many rounds of sluice-api without and with an idle operator
    /// console, alternating (0: the normal run).
    #[arg(long, env, default_value_t = 0)]
    pub bench_console_rounds: u32,
    /// Updates the drain phase starts from.
    #[arg(long, env, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub bench_backlog: u64,
    /// Bound of the drain phase, seconds.
    #[arg(long, env, default_value_t = 900)]
    pub bench_drain_timeout_s: u64,
    /// How long each phase waits for the machine to be quiet, seconds.
    #[arg(long, env, default_value_t = 120)]
    pub bench_quiet_wait_s: u64,
    /// Keep the database and (with BENCH_REDIS_URL) the Redis keys (BENCH_KEEP=1).
    #[arg(long, env, value_parser = clap::builder::BoolishValueParser::new())]
    pub bench_keep: bool,
    /// The commit the binaries were built from (the script builds it from a `git archive`).
    #[arg(long, env)]
    pub bench_rev: Option<String>,
    /// Admission control for sluice-api: off unless set (the defaults would turn the load into
    /// 429s by design; this measures the durable path).
    #[arg(long, env, default_value = "off")]
    pub sluice_rate_scope: String,
    #[arg(long, env, default_value = "off")]
    pub sluice_shed_depth_high: String,
    #[arg(long, env, default_value = "off")]
    pub sluice_shed_depth_normal: String,
    #[arg(long, env, default_value = "off")]
    pub sluice_shed_depth_low: String,
    /// The worker's settings, shown in the JSON (they reach sluice-worker from the environment).
    #[arg(long, env)]
    pub sluice_worker_concurrency: Option<String>,
    #[arg(long, env)]
    pub sluice_fetch_batch: Option<String>,
    #[arg(long, env)]
    pub sluice_poll_interval: Option<String>,
    /// The binaries' log filter.
    #[arg(long = "log", env = "RUST_LOG", default_value = "info")]
    pub rust_log: String,
}

/// The bot the bench registers and posts to.
const BOT: &str = "bench";

/// Runs the benchmark; clean-up runs however it ends. Exit codes as the bash script's: 1 on an
/// error, 130 / 143 on SIGINT / SIGTERM.
pub async fn run(args: IngressArgs) -> anyhow::Result<ExitCode> {
    let ts = timestamp();
    let mut res = setup::Resources::new(&args, &ts);
    std::fs::create_dir_all(&res.out).with_context(|| format!("creating {}", res.out.display()))?;
    let result = until_signal(bench(&args, &ts, &mut res)).await;
    if let Err(e) = &result {
        eprintln!("bench: error: {e:#}");
    }
    res.teardown(&args).await;
    Ok(exit_code(&result))
}

async fn bench(args: &IngressArgs, ts: &str, res: &mut setup::Resources) -> anyhow::Result<()> {
    let ctx = setup::prepare(args, res).await?;
    let a = phases::reference(&ctx).await?;
    if args.bench_console_rounds > 0 {
        return console_idle::rounds(&ctx, &a, args.bench_console_rounds).await;
    }
    let mut api = phases::start_api(&ctx).await?;
    let b = phases::api(&ctx, &mut api).await?;
    let half_rate = (b.wrk.rps / 2.0).floor() as u64;
    anyhow::ensure!(half_rate > 0, "(b) measured no throughput");
    let c = phases::fixed_rate(&ctx, &mut api, half_rate).await?;
    let backlog = backlog::top_up(&ctx, b.wrk.rps).await?;
    say("stopping sluice-api");
    let rss_idle_kib = api.rss_idle_kib;
    api.process.stop().await;
    let cref = phases::reference_fixed_rate(&ctx, half_rate).await?;
    let d = drain::phase(&ctx, backlog).await?;
    let input = SummaryInput {
        timestamp: ts.to_owned(),
        queue_prefix: ctx.prefix.clone(),
        machine: machine::probe(&ctx).await?,
        rate_scope: args.sluice_rate_scope.clone(),
        shed: format!(
            "high={},normal={},low={}",
            args.sluice_shed_depth_high, args.sluice_shed_depth_normal, args.sluice_shed_depth_low
        ),
        rss_idle_kib,
        phases: [a, b, c, cref],
        drain: d,
    };
    let summary = assemble(&input);
    let json = serde_json::to_string_pretty(&summary)? + "\n";
    std::fs::write(&ctx.json_out, json)
        .with_context(|| format!("writing {}", ctx.json_out.display()))?;
    print!("{}", print::render(&summary, &ctx.json_out));
    Ok(())
}
