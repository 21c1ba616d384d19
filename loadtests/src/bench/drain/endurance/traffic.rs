//! (e)'s traffic: wrk with `update.lua` at a fixed rate, sampled every BENCH_SAMPLE_S seconds
//! while it runs.

use std::time::Duration;

use anyhow::{Context, bail};
use tokio::process::Command;

use super::{
    figures::{Sample, WrkLine},
    target::Target,
};
use crate::bench::drain::procs;

/// update_ids of (e) start here, far from the other phases'.
const ID_BASE: &str = "700000000000";

/// Runs wrk to its end, pushing a sample every BENCH_SAMPLE_S; its summary and the command line
/// recorded in the JSON.
pub async fn run(t: &Target<'_>, samples: &mut Vec<Sample>) -> anyhow::Result<(WrkLine, String)> {
    let (b, a) = (t.bench, &t.bench.args);
    let lua = std::fs::canonicalize(&a.update_lua)
        .with_context(|| format!("BENCH_UPDATE_LUA: {}", a.update_lua.display()))?;
    let dir = lua.parent().context("update.lua's directory")?;
    let url = format!("http://{}/webhook/telegram/{}", a.api_addr, b.bot);
    let secs = a.endurance_s;
    let wrk_args = [
        "-t2",
        "-c16",
        &format!("-d{secs}s"),
        "--latency",
        "-s",
        "update.lua",
        &url,
    ];
    let mut cmd = Command::new("wrk");
    cmd.args(wrk_args)
        .current_dir(dir)
        .env("BENCH_BOT", &b.bot)
        .env("BENCH_SECRET", &b.secret)
        .env("BENCH_ID_BASE", ID_BASE)
        .env("BENCH_THREADS", "2")
        .env("BENCH_RATE", a.endurance_rate.to_string());
    let mut wrk = procs::spawn(&b.out, "wrk-endurance", cmd)?;
    let bound = Duration::from_secs(secs + 30);
    let mut next = a.sample_s as f64;
    while wrk.is_running() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if t.elapsed() >= next {
            samples.push(t.sample().await?);
            next += a.sample_s as f64;
        }
        if t.t0.elapsed() > bound {
            break;
        }
    }
    let log = wrk.log.clone();
    let status = wrk.wait(Duration::from_secs(1)).await?;
    if !status.success() {
        bail!(
            "wrk (endurance) failed: {}",
            crate::bench::wrk::last_lines(&std::fs::read_to_string(&log).unwrap_or_default(), 5)
        );
    }
    let output = std::fs::read_to_string(&log)?;
    let line = WrkLine::find(&output).context("wrk (endurance) printed no @@bench line")?;
    let command = format!("BENCH_RATE={} wrk {}", a.endurance_rate, wrk_args.join(" "));
    Ok((line, command))
}
