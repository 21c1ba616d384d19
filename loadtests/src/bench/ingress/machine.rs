//! The machine and software a run measured on, for the summary's `machine`: CPU, cores, RAM,
//! kernel, the wrk, Redis and Postgres versions, and the commit measured.

use serde::{Deserialize, Serialize};
use tokio::process::Command;

use super::setup::Ctx;
use crate::bench::knobs::round_to;
use crate::bench::procfs::nproc;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub cpu_model: String,
    pub nproc: u64,
    pub mem_gib: f64,
    pub kernel: String,
    pub wrk: String,
    pub redis: String,
    pub postgres: String,
    /// The commit measured (short hash), `-dirty` when the working tree had changes.
    pub git: String,
}

/// `model name` of /proc/cpuinfo's first CPU.
fn cpu_model() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    info.lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(": ")
                .map(|(_, v)| v.to_owned())
        })
        .unwrap_or_default()
}

fn mem_gib() -> f64 {
    let info = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: f64 = info
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    round_to(kib / 1_048_576.0, 1)
}

async fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .await
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The commit measured: BENCH_REV's, or HEAD's with `-dirty` when tracked files changed.
async fn git_describe(rev: Option<&str>) -> String {
    if let Some(rev) = rev {
        return git(&["rev-parse", "--short", &format!("{rev}^{{commit}}")])
            .await
            .unwrap_or_else(|| rev.to_owned());
    }
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]).await else {
        return "unknown".to_owned();
    };
    match git(&["status", "--porcelain", "--untracked-files=no"]).await {
        Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
        _ => head,
    }
}

pub(crate) async fn probe(ctx: &Ctx) -> anyhow::Result<Machine> {
    let redis = ctx.redis.info("server").await?;
    let postgres: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&ctx.db)
        .await?;
    Ok(Machine {
        cpu_model: cpu_model(),
        nproc: nproc() as u64,
        mem_gib: mem_gib(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        wrk: crate::bench::wrk::version().await,
        redis: redis.get("redis_version").cloned().unwrap_or_default(),
        postgres,
        git: git_describe(ctx.args.bench_rev.as_deref()).await,
    })
}
