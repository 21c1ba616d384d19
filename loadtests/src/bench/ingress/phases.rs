//! Phases (a), (b), (c) and the reference at (c)'s rate: which server runs, with which
//! settings, and the update_id range of each wrk run.

use std::time::Duration;

use anyhow::Context as _;
use tokio::process::Command;

use super::BOT;
use super::measure::{Phase, Target, measure, run_wrk};
use super::setup::Ctx;
use crate::bench::child::Started;
use crate::bench::procfs::rss_kib;
use crate::bench::say;

/// Each run's first update_id: no two runs send the same id (sluice would answer a repeat as
/// a duplicate without enqueuing it). The top-ups of (d) use `TOP_UP_BASE` and above.
const WARMUP_A_BASE: u64 = 100_000_000_000;
const A_BASE: u64 = 100_000_000_000;
const WARMUP_B_BASE: u64 = 200_000_000_000;
const B_BASE: u64 = 300_000_000_000;
const C_BASE: u64 = 400_000_000_000;
pub(crate) const TOP_UP_BASE: u64 = 500_000_000_000;
const CREF_BASE: u64 = 600_000_000_000;

fn webhook_url(addr: std::net::SocketAddr) -> String {
    format!("http://{addr}/webhook/telegram/{BOT}")
}

async fn start_reference(ctx: &Ctx) -> anyhow::Result<Started> {
    let mut cmd = Command::new(ctx.bin.join("sluice-bench-reference"));
    cmd.arg(ctx.args.bench_ref_addr.to_string());
    let mut reference = Started::spawn("sluice-bench-reference", cmd, &ctx.out)?;
    reference.wait_listening(ctx.args.bench_ref_addr).await?;
    Ok(reference)
}

/// (a): the reference server, a warm-up, then the measured run.
pub(crate) async fn reference(ctx: &Ctx) -> anyhow::Result<Phase> {
    say(format!(
        "(a) reference server on {}",
        ctx.args.bench_ref_addr
    ));
    let reference = start_reference(ctx).await?;
    let url = webhook_url(ctx.args.bench_ref_addr);
    let warmup = Target {
        label: "warmup-a",
        url: &url,
        rate: 0,
        id_base: WARMUP_A_BASE,
    };
    run_wrk(ctx, &warmup, ctx.args.wrk_warmup).await?;
    let a = Target {
        label: "a",
        url: &url,
        rate: 0,
        id_base: A_BASE,
    };
    let phase = measure(ctx, reference.pid(), &a).await?;
    say(format!("(a) {}", phase.brief()));
    reference.stop().await;
    Ok(phase)
}

/// The reference at (c)'s fixed rate, so that (c)'s latency has its ceiling next to it.
pub(crate) async fn reference_fixed_rate(ctx: &Ctx, rate: u64) -> anyhow::Result<Phase> {
    say(format!(
        "(c) reference server at the same fixed {rate} req/s"
    ));
    let reference = start_reference(ctx).await?;
    let url = webhook_url(ctx.args.bench_ref_addr);
    let cref = Target {
        label: "cref",
        url: &url,
        rate,
        id_base: CREF_BASE,
    };
    let phase = measure(ctx, reference.pid(), &cref).await?;
    say(format!("(c) reference: {}", phase.brief()));
    reference.stop().await;
    Ok(phase)
}

/// The running sluice-api and its RSS once it accepted its first update.
pub(crate) struct Api {
    pub process: Started,
    pub rss_idle_kib: u64,
    pub url: String,
}

/// Starts sluice-api with admission control off unless the environment says otherwise: this
/// measures the durable path, and the default limits (2000/s global, 20/min per chat) would
/// turn the benchmark's load into 429s by design.
pub(crate) async fn start_api(ctx: &Ctx) -> anyhow::Result<Api> {
    say(format!(
        "(b) sluice-api on {}, queue prefix {}",
        ctx.args.bench_api_addr, ctx.prefix
    ));
    start_api_with(ctx, "sluice-api", &[]).await
}

/// [`start_api`] with `env` on top, its output in `<run>/<name>.log`.
pub(crate) async fn start_api_with(
    ctx: &Ctx,
    name: &str,
    env: &[(&str, String)],
) -> anyhow::Result<Api> {
    let args = &ctx.args;
    let mut cmd = Command::new(ctx.bin.join("sluice-api"));
    cmd.env("SLUICE_API_ADDR", args.bench_api_addr.to_string())
        .env("SLUICE_ADMIN_ADDR", args.bench_api_admin.to_string())
        .env("SLUICE_QUEUE_PREFIX", &ctx.prefix)
        .env("DATABASE_URL", &ctx.database_url)
        .env("REDIS_URL", &ctx.redis_url)
        .env("RUST_LOG", &args.rust_log)
        .env("SLUICE_RATE_SCOPE", &args.sluice_rate_scope)
        .env("SLUICE_SHED_DEPTH_HIGH", &args.sluice_shed_depth_high)
        .env("SLUICE_SHED_DEPTH_NORMAL", &args.sluice_shed_depth_normal)
        .env("SLUICE_SHED_DEPTH_LOW", &args.sluice_shed_depth_low);
    // The console is on only where a phase asks for it (the console rounds), not because the
    // caller's environment happens to carry a token digest.
    cmd.env_remove("SLUICE_CONSOLE_TOKEN_SHA256");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut process = Started::spawn(name, cmd, &ctx.out)?;
    process
        .wait_ready(args.bench_api_admin, Duration::from_secs(60))
        .await?;
    let url = webhook_url(args.bench_api_addr);
    accepts_an_update(ctx, &url).await?;
    let rss_idle_kib = rss_kib(process.pid()).unwrap_or(0);
    Ok(Api {
        process,
        rss_idle_kib,
        url,
    })
}

/// One hand-made update must be queued (`{"ok":true,"id":…}`) before anything is measured.
async fn accepts_an_update(ctx: &Ctx, url: &str) -> anyhow::Result<()> {
    // A new id at every start: a restarted api would answer a repeat as a duplicate.
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let answer = reqwest::Client::new()
        .post(url)
        .timeout(Duration::from_secs(5))
        .header("Content-Type", "application/json")
        .header("X-Telegram-Bot-Api-Secret-Token", &ctx.secret)
        .body(format!(r#"{{"update_id":{id},"message":{{"message_id":1,"chat":{{"id":1,"type":"private"}},"date":1,"text":"hi"}}}}"#))
        .send()
        .await
        .context("posting a test update to sluice-api")?
        .text()
        .await?;
    anyhow::ensure!(
        answer.starts_with(r#"{"ok":true,"id":"#),
        "sluice-api did not accept a test update: {answer}"
    );
    Ok(())
}

/// (b): a warm-up, then sluice-api at full speed.
pub(crate) async fn api(ctx: &Ctx, api: &mut Api) -> anyhow::Result<Phase> {
    let warmup = Target {
        label: "warmup-b",
        url: &api.url,
        rate: 0,
        id_base: WARMUP_B_BASE,
    };
    run_wrk(ctx, &warmup, ctx.args.wrk_warmup).await?;
    let b = Target {
        label: "b",
        url: &api.url,
        rate: 0,
        id_base: B_BASE,
    };
    let phase = measure(ctx, api.process.pid(), &b).await?;
    say(format!("(b) {}", phase.brief()));
    Ok(phase)
}

/// (c): sluice-api at a fixed rate (half of (b)'s).
pub(crate) async fn fixed_rate(ctx: &Ctx, api: &mut Api, rate: u64) -> anyhow::Result<Phase> {
    say(format!(
        "(c) sluice-api at a fixed {rate} req/s (half of (b))"
    ));
    let c = Target {
        label: "c",
        url: &api.url,
        rate,
        id_base: C_BASE,
    };
    let phase = measure(ctx, api.process.pid(), &c).await?;
    say(format!("(c) {} (target {rate} req/s)", phase.brief()));
    if !api.process.is_running() {
        return Err(api.process.exited_error("during (c)"));
    }
    Ok(phase)
}
