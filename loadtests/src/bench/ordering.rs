//! `sluice-load bench ordering`: what per-chat ordering costs, in one run on one machine.
//!
//! (a) Many chats: UPDATES updates over CHATS chats are posted through sluice-api (each chat's
//! in order, the worker stopped), then one sluice-worker (store handler) drains them; once with
//! `SLUICE_ORDERING=off` and once with `chat`, ROUNDS times, alternating which goes first. It
//! prints rows/s of each and the ratio chat/off (target >= 0.9). (b) One hot chat: HOT updates
//! of one chat drained by a forward handler whose target takes HANDLER_TIME per call, under
//! `chat`, once per HANDLER_TIME: the drain rate against the target's own speed (1 / its mean
//! call time) and against a bare client calling the target one call after the other, as
//! Telegram would call the bot without sluice (the reference, measured in the same run). Both give
//! Redis commands per job (`INFO commandstats` over the drain / jobs). A private redis-server
//! and a database of the run's own are removed at the end; logs stay in
//! `<results>/ordering-<ts>/`, the figures in `<results>/ordering-<ts>.json`.
//!
//! # Layout
//! - this file: the knobs and the order of the phases;
//! - `drain`: one preload-then-drain and its figures; `figures`: the summary and its lines;
//! - `stack`: sluice-api and sluice-worker as processes; `receiver`: the forward target;
//! - `post`: updates posted per chat in order, with a ledger.

mod drain;
mod figures;
pub mod post;
pub mod receiver;
pub mod stack;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use sluice_shared::config::parse_duration;
use tokio::process::Command;

use self::drain::{Drain, Handler};
use self::figures::Summary;
use self::stack::Stack;
use super::child::{Started, run_quiet};
use super::knobs::{random_secret, timestamp};
use super::{exit_code, pg, until_signal};

/// The bench's settings: each a flag and an environment variable.
#[derive(Debug, Clone, clap::Args)]
pub struct OrderingArgs {
    /// Where sluice-api and sluice-worker are (default: beside this program).
    #[arg(long, env = "BENCH_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Where the run's folder and JSON go.
    #[arg(long, default_value = "loadtests/results")]
    pub results: PathBuf,
    /// Postgres server URL without database.
    #[arg(long, env, default_value = "postgres://postgres@127.0.0.1:5432")]
    pub bench_pg_url: String,
    /// (a): updates in the backlog.
    #[arg(
        long,
        env = "BENCH_ORDER_UPDATES",
        value_name = "BENCH_ORDER_UPDATES",
        default_value_t = 100_000
    )]
    pub updates: u64,
    /// (a): chats they are spread over (updates / chats each).
    #[arg(
        long,
        env = "BENCH_ORDER_CHATS",
        value_name = "BENCH_ORDER_CHATS",
        default_value_t = 10_000
    )]
    pub chats: u64,
    /// (a): off/chat pairs of drains, alternating which goes first (the ratio is the median of
    /// the pairs': one pair swings with this machine's load).
    #[arg(long, env = "BENCH_ORDER_ROUNDS", value_name = "BENCH_ORDER_ROUNDS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub rounds: u32,
    /// (b): updates of the hot chat (0 skips (b)).
    #[arg(
        long,
        env = "BENCH_ORDER_HOT",
        value_name = "BENCH_ORDER_HOT",
        default_value_t = 10_000
    )]
    pub hot: u64,
    /// (b): time the forward target takes per call; a list (`1ms,10ms`) drains one hot chat
    /// behind each, so the hand-off's cost shows as a time per job, not a share.
    #[arg(long, env = "BENCH_ORDER_HANDLER_TIME", value_name = "BENCH_ORDER_HANDLER_TIME", default_value = "1ms,10ms", value_delimiter = ',', num_args = 1.., value_parser = parse_duration)]
    pub handler_time: Vec<Duration>,
    /// Chats posting at once while the backlog is built.
    #[arg(
        long,
        env = "BENCH_ORDER_CONNECTIONS",
        value_name = "BENCH_ORDER_CONNECTIONS",
        default_value_t = 64
    )]
    pub connections: usize,
    /// The worker's SLUICE_WORKER_CONCURRENCY.
    #[arg(
        long,
        env = "BENCH_ORDER_CONCURRENCY",
        value_name = "BENCH_ORDER_CONCURRENCY",
        default_value_t = 16
    )]
    pub concurrency: u32,
    /// A drain that makes no progress for this long fails the run.
    #[arg(long, env = "BENCH_ORDER_STALL", value_name = "BENCH_ORDER_STALL", default_value = "60s", value_parser = parse_duration)]
    pub stall: Duration,
}

const BOT: &str = "bench";

/// The run's processes and database, removed however it ends.
#[derive(Default)]
struct Resources {
    processes: Vec<Started>,
    database: Option<String>,
}

pub async fn run(args: OrderingArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.chats > 0 && args.updates >= args.chats,
        "BENCH_ORDER_UPDATES must be at least BENCH_ORDER_CHATS (and that at least 1)"
    );
    let ts = timestamp();
    let out = args.results.join(format!("ordering-{ts}"));
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut res = Resources::default();
    let result = until_signal(bench(&args, &out, &ts, &mut res)).await;
    if let Err(e) = &result {
        eprintln!("bench: error: {e:#}");
    }
    for p in res.processes.drain(..).rev() {
        p.stop().await;
    }
    if let Some(db) = res.database {
        let _ = pg::drop_database(&args.bench_pg_url, &db).await;
    }
    // The copies are hundreds of MB in debug; the logs stay.
    for bin in ["sluice-api", "sluice-worker"] {
        let _ = std::fs::remove_file(out.join(bin));
    }
    Ok(exit_code(&result))
}

/// A fresh database with sluice's tables and the bench's bot.
async fn prepare_database(
    args: &OrderingArgs,
    api: &Path,
    secret: &str,
    res: &mut Resources,
) -> anyhow::Result<String> {
    let db = format!(
        "sluice_bench_ordering_{}_{}",
        chrono::Utc::now().timestamp(),
        std::process::id()
    );
    pg::recreate_database(&args.bench_pg_url, &db).await?;
    res.database = Some(db.clone());
    let url = format!("{}/{db}", args.bench_pg_url);
    let mut migrate = Command::new(api);
    migrate.arg("migrate").env("DATABASE_URL", &url);
    run_quiet("sluice-api migrate", migrate).await?;
    let mut bots = Command::new(api);
    bots.args(["bots", "add", BOT])
        .env("DATABASE_URL", &url)
        .env("SLUICE_BOT_SECRET", secret);
    run_quiet("sluice-api bots add", bots).await?;
    Ok(url)
}

/// Copies of the binaries in the run's folder: the target directory may be shared with other
/// branches' builds, which could replace them mid-run.
fn copy_binaries(args: &OrderingArgs, out: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = args.bin_dir.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_default()
    });
    let copy = |name: &str| -> anyhow::Result<PathBuf> {
        let (from, to) = (dir.join(name), out.join(name));
        std::fs::copy(&from, &to).with_context(|| format!("copying {}", from.display()))?;
        Ok(to)
    };
    Ok((copy("sluice-api")?, copy("sluice-worker")?))
}

async fn bench(
    args: &OrderingArgs,
    out: &Path,
    ts: &str,
    res: &mut Resources,
) -> anyhow::Result<()> {
    let (api_bin, worker_bin) = copy_binaries(args, out)?;
    let (redis, redis_url, probe) = super::redis_probe::private_redis(out).await?;
    res.processes.push(redis);
    let secret = random_secret();
    let database_url = prepare_database(args, &api_bin, &secret, res).await?;
    let stack = Stack {
        api_bin,
        worker_bin,
        database_url,
        redis_url,
        prefix: "bench-ordering".into(),
        log_dir: out.to_owned(),
    };
    let drain = Drain::new(args, &stack, probe, secret).await?;
    let mut summary = Summary::new(args);
    for round in 0..args.rounds {
        let modes = if round % 2 == 0 {
            ["off", "chat"]
        } else {
            ["chat", "off"]
        };
        for mode in modes {
            let plan = post::Plan {
                chats: args.chats,
                per_chat: args.updates / args.chats,
                first_chat: 8_000_000_000,
                first_update_id: 1,
                connections: args.connections,
            };
            let figure = drain.run(mode, plan, Handler::Store, round).await?;
            println!("{}", figure.line());
            summary.many_chats.push(figure);
        }
    }
    let plan = post::Plan {
        chats: 1,
        per_chat: args.hot,
        first_chat: 8_500_000_000,
        first_update_id: 1,
        connections: 1,
    };
    let hot_times = if args.hot > 0 {
        &args.handler_time[..]
    } else {
        &[]
    };
    for (round, &time) in (0..).zip(hot_times) {
        let figure = drain
            .run("chat", plan, Handler::Forward(time), round)
            .await?;
        println!("{}", figure.line());
        summary.hot_chats.push(figure);
    }
    drain.close().await;
    for line in summary.lines() {
        println!("{line}");
    }
    let json = args.results.join(format!("ordering-{ts}.json"));
    std::fs::write(&json, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("figures: {}; logs: {}", json.display(), out.display());
    Ok(())
}
