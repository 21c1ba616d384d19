//! `BENCH_CONSOLE_ROUNDS=N`: what an idle operator console costs the webhook path. Instead of
//! (b)–(d), after the reference (a) the bench runs N rounds of sluice-api without the console and
//! with it on (a token digest configured, its listener bound, its background flushes running, no
//! one signed in), a fresh process each time, in alternating order (off-on, on-off, …) so that a
//! drift of the machine does not favour one side. Each start is also left alone for a few seconds
//! to read its idle CPU. Printed, and written to `<run>/console-idle.json`.

use std::time::Duration;

use serde::Serialize;

use super::measure::{Phase, Target, measure, run_wrk};
use super::phases::start_api_with;
use super::setup::Ctx;
use crate::bench::knobs::round_to;
use crate::bench::procfs;
use crate::bench::say;

/// The first update_id of the rounds' wrk runs (above every range of the other phases).
const BASE: u64 = 700_000_000_000;
/// How long each fresh api is left without requests to read its idle CPU.
const IDLE: Duration = Duration::from_secs(6);

/// One api start's figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Side {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub non_2xx: u64,
    /// The api's CPU per request under load, microseconds.
    pub cpu_us_per_request: f64,
    /// The api's CPU while idle (no requests), milliseconds per second.
    pub idle_cpu_ms_per_s: f64,
    pub rss_max_kib: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Round {
    pub round: u32,
    pub order: &'static str,
    pub off: Side,
    pub on: Side,
    /// on / off requests per second.
    pub ratio: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ConsoleIdle {
    pub reference_rps: f64,
    pub rounds: Vec<Round>,
    pub median_ratio: f64,
    pub median_off_over_reference: f64,
    pub median_on_over_reference: f64,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// One fresh api, console on or off: idle CPU, a warm-up, the measured run, stop.
async fn side(ctx: &Ctx, round: u32, console: bool) -> anyhow::Result<Side> {
    let tag = if console { "on" } else { "off" };
    let name = format!("sluice-api-console-{tag}-r{round}");
    let mut env = Vec::new();
    if console {
        env.push((
            "SLUICE_CONSOLE_ADDR",
            ctx.args.bench_console_addr.to_string(),
        ));
        // The digest of a random token no one has: the console runs, nobody signs in.
        env.push(("SLUICE_CONSOLE_TOKEN_SHA256", "0".repeat(64)));
    }
    say(format!("round {round}: sluice-api, console {tag}"));
    let mut api = start_api_with(ctx, &name, &env).await?;
    let pid = api.process.pid();
    let before = procfs::process_cpu_s(pid)?;
    tokio::time::sleep(IDLE).await;
    let idle_cpu_ms_per_s = round_to(
        (procfs::process_cpu_s(pid)? - before) * 1000.0 / IDLE.as_secs_f64(),
        3,
    );
    let offset =
        BASE + u64::from(round) * 20_000_000_000 + if console { 10_000_000_000 } else { 0 };
    let warm_label = format!("warmup-{tag}-r{round}");
    let warmup = Target {
        label: &warm_label,
        url: &api.url,
        rate: 0,
        id_base: offset,
    };
    run_wrk(ctx, &warmup, ctx.args.wrk_warmup).await?;
    let label = format!("console-{tag}-r{round}");
    let target = Target {
        label: &label,
        url: &api.url,
        rate: 0,
        id_base: offset + 5_000_000_000,
    };
    let phase: Phase = measure(ctx, pid, &target).await?;
    say(format!("round {round}, console {tag}: {}", phase.brief()));
    if !api.process.is_running() {
        return Err(api.process.exited_error("during the console round"));
    }
    api.process.stop().await;
    let requests = phase.wrk.requests.max(1) as f64;
    Ok(Side {
        rps: round_to(phase.wrk.rps, 1),
        p50_ms: round_to(phase.wrk.lat_us.p50 as f64 / 1000.0, 3),
        p99_ms: round_to(phase.wrk.lat_us.p99 as f64 / 1000.0, 3),
        non_2xx: phase.wrk.non_2xx_3xx,
        cpu_us_per_request: round_to(phase.process_cpu_s * 1e6 / requests, 2),
        idle_cpu_ms_per_s,
        rss_max_kib: phase.rss_max_kib,
    })
}

/// The rounds after the reference (a); prints them and writes `<run>/console-idle.json`.
pub(crate) async fn rounds(ctx: &Ctx, reference: &Phase, n: u32) -> anyhow::Result<()> {
    let mut rounds = Vec::new();
    for r in 1..=n {
        let on_first = r % 2 == 0;
        let (off, on) = if on_first {
            let on = side(ctx, r, true).await?;
            (side(ctx, r, false).await?, on)
        } else {
            let off = side(ctx, r, false).await?;
            (off, side(ctx, r, true).await?)
        };
        let ratio = round_to(on.rps / off.rps.max(1.0), 3);
        rounds.push(Round {
            round: r,
            order: if on_first { "on, off" } else { "off, on" },
            off,
            on,
            ratio,
        });
    }
    let reference_rps = reference.wrk.rps.max(1.0);
    let summary = ConsoleIdle {
        reference_rps: round_to(reference.wrk.rps, 1),
        median_ratio: round_to(median(rounds.iter().map(|r| r.ratio).collect()), 3),
        median_off_over_reference: round_to(
            median(rounds.iter().map(|r| r.off.rps / reference_rps).collect()),
            3,
        ),
        median_on_over_reference: round_to(
            median(rounds.iter().map(|r| r.on.rps / reference_rps).collect()),
            3,
        ),
        rounds,
    };
    let path = ctx.out.join("console-idle.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")?;
    print!("{}", render(&summary));
    println!("JSON             : {}", path.display());
    Ok(())
}

fn render(s: &ConsoleIdle) -> String {
    let mut out = format!(
        "\n== idle console vs none (sluice-api, same run) ==\n(a) reference: {} req/s\n",
        s.reference_rps
    );
    out.push_str(
        "round order     off req/s  on req/s  on/off  p99 off/on ms   CPU us/req off/on  idle CPU ms/s off/on\n",
    );
    for r in &s.rounds {
        out.push_str(&format!(
            "{:>5} {:<9} {:>9} {:>9} {:>7} {:>7}/{:<7} {:>8}/{:<8} {:>6}/{}\n",
            r.round,
            r.order,
            r.off.rps,
            r.on.rps,
            r.ratio,
            r.off.p99_ms,
            r.on.p99_ms,
            r.off.cpu_us_per_request,
            r.on.cpu_us_per_request,
            r.off.idle_cpu_ms_per_s,
            r.on.idle_cpu_ms_per_s,
        ));
    }
    out.push_str(&format!(
        "median on/off: {}   off/(a): {}   on/(a): {}\n",
        s.median_ratio, s.median_off_over_reference, s.median_on_over_reference
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(vec![]).is_nan());
    }
}
