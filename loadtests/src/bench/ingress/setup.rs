//! What a run stands on: its folder and copies of the binaries, the Redis it measures (a
//! private redis-server unless BENCH_REDIS_URL), a fresh database with the bench's bot, the
//! free ports it needs; and the clean-up of all of it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::process::Command;

use super::{BOT, IngressArgs};
use crate::bench::child::{Started, port_open, run_quiet};
use crate::bench::knobs::random_secret;
use crate::bench::redis_probe::RedisProbe;
use crate::bench::wrk::Wrk;
use crate::bench::{pg, say};

const BINARIES: [&str; 3] = ["sluice-api", "sluice-worker", "sluice-bench-reference"];

/// What outlives the measuring: cleaned up by [`Resources::teardown`] however the run ends.
pub(crate) struct Resources {
    /// `<results>/ingress-<ts>`: logs, raw wrk output, samples.
    pub out: PathBuf,
    pub json_out: PathBuf,
    /// The queue prefix of this run; its keys are deleted from a shared Redis at the end.
    pub prefix: String,
    private_redis: Option<Started>,
    /// Only the database this run created is dropped: an early exit must not drop another's.
    db_created: bool,
}

/// What the phases use.
pub(crate) struct Ctx {
    pub args: IngressArgs,
    pub out: PathBuf,
    pub json_out: PathBuf,
    pub prefix: String,
    pub secret: String,
    /// The run's copies of the binaries.
    pub bin: PathBuf,
    pub redis_url: String,
    pub redis: RedisProbe,
    pub database_url: String,
    /// The bench's database (row counts, the server's version).
    pub db: PgPool,
    pub wrk: Wrk,
}

impl Resources {
    pub fn new(args: &IngressArgs, ts: &str) -> Resources {
        Resources {
            out: args.results.join(format!("ingress-{ts}")),
            json_out: args.results.join(format!("ingress-{ts}.json")),
            prefix: format!("sluice-bench-{ts}-{}", std::process::id()),
            private_redis: None,
            db_created: false,
        }
    }

    fn redis_url(&self, args: &IngressArgs) -> String {
        args.bench_redis_url
            .clone()
            .unwrap_or_else(|| format!("redis://127.0.0.1:{}", args.bench_redis_port))
    }

    /// Drops the run's Redis keys and database (unless BENCH_KEEP=1), removes the binaries'
    /// copies and stops the private Redis last, so that nothing writes to it any more.
    pub async fn teardown(&mut self, args: &IngressArgs) {
        let _ = std::fs::remove_dir_all(self.out.join("bin"));
        if args.bench_keep {
            say(format!(
                "kept database {} and, with BENCH_REDIS_URL, the Redis prefix {} (BENCH_KEEP=1)",
                args.bench_db, self.prefix
            ));
        } else {
            say(format!(
                "cleaning up: Redis keys {}:*, database {}",
                self.prefix, args.bench_db
            ));
            if args.bench_redis_url.is_some()
                && let Ok(redis) = RedisProbe::connect(&self.redis_url(args)).await
            {
                let _ = redis.drop_prefix(&self.prefix).await;
            }
            if self.db_created {
                let _ = pg::drop_database(&args.bench_pg_url, &args.bench_db).await;
            }
        }
        if let Some(redis) = self.private_redis.take() {
            redis.stop().await;
        }
    }
}

/// Everything before phase (a): binaries, Redis, Postgres, free ports, database and bot.
pub(crate) async fn prepare(args: &IngressArgs, res: &mut Resources) -> anyhow::Result<Ctx> {
    let bin = copy_binaries(args, res)?;
    let redis_url = res.redis_url(args);
    if args.bench_redis_url.is_none() {
        res.private_redis = Some(start_private_redis(args, res).await?);
    }
    let redis = RedisProbe::connect(&redis_url)
        .await
        .context("scripts/dev-up starts Redis")?;
    pg::admin_pool(&args.bench_pg_url).await?.close().await;
    for addr in [
        args.bench_ref_addr,
        args.bench_api_addr,
        args.bench_api_admin,
        args.bench_worker_admin,
        args.bench_console_addr,
    ] {
        anyhow::ensure!(
            !port_open(addr).await,
            "{addr} is in use by another process; set BENCH_*_ADDR"
        );
    }
    let database_url = format!("{}/{}", args.bench_pg_url, args.bench_db);
    say(format!("creating a fresh database {}", args.bench_db));
    res.db_created = true;
    pg::recreate_database(&args.bench_pg_url, &args.bench_db).await?;
    let secret = random_secret();
    add_bot(&bin, &database_url, &secret, &res.out).await?;
    let db = PgPoolOptions::new()
        .max_connections(2)
        .connect(&database_url)
        .await
        .with_context(|| format!("connecting to {database_url}"))?;
    Ok(Ctx {
        wrk: Wrk {
            threads: args.wrk_threads,
            connections: args.wrk_connections,
            script: args.script.clone(),
        },
        args: args.clone(),
        out: res.out.clone(),
        json_out: res.json_out.clone(),
        prefix: res.prefix.clone(),
        secret,
        bin,
        redis_url,
        redis,
        database_url,
        db,
    })
}

/// Copies the binaries into the run's folder: a later build into the same target directory
/// (someone else's, or another run's) must not swap them between phases.
fn copy_binaries(args: &IngressArgs, res: &Resources) -> anyhow::Result<PathBuf> {
    let bin = res.out.join("bin");
    std::fs::create_dir_all(&bin)?;
    for name in BINARIES {
        let from = args.bin_dir.join(name);
        anyhow::ensure!(from.is_file(), "{} is missing", from.display());
        std::fs::copy(&from, bin.join(name))
            .with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(bin)
}

/// A redis-server of the run's own: no persistence, like the machine's shared one.
async fn start_private_redis(args: &IngressArgs, res: &Resources) -> anyhow::Result<Started> {
    let port = args.bench_redis_port;
    anyhow::ensure!(
        !port_open(([127, 0, 0, 1], port).into()).await,
        "127.0.0.1:{port} is in use; set BENCH_REDIS_PORT"
    );
    let mut cmd = Command::new("redis-server");
    cmd.args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no"]);
    let mut redis = Started::spawn("redis-server", cmd, &res.out)?;
    for _ in 0..50 {
        if RedisProbe::connect(&res.redis_url(args)).await.is_ok() {
            return Ok(redis);
        }
        if !redis.is_running() {
            return Err(redis.exited_error("at start-up"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!(
        "the private redis-server did not start (log: {})",
        redis.log.display()
    )
}

/// `sluice-api bots add bench`, the secret in the environment (not on the command line).
async fn add_bot(
    bin: &std::path::Path,
    database_url: &str,
    secret: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let mut cmd = Command::new(bin.join("sluice-api"));
    cmd.args(["bots", "add", BOT])
        .env("DATABASE_URL", database_url)
        .env("SLUICE_BOT_SECRET", secret);
    let log = run_quiet("sluice-api bots add", cmd).await?;
    std::fs::write(out.join("bots-add.log"), log)?;
    Ok(())
}
