//! `sluice-load`: realistic bot traffic against a running sluice, and the SLO gate.
//!
//! ```sh
//! sluice-load profiles                                   # the presets, their rates and durations
//! sluice-load run --profile steady --out /tmp/steady     # traffic; summary.json, report.html
//! sluice-load gate --profile steady --summary /tmp/steady/summary.json
//! sluice-load run --profile steady --gate                # both, with Postgres snapshots around it
//! sluice-load bench ingress --bin-dir target/release     # a benchmark (loadtests/bench/*/run)
//! sluice-load bench drain                                # the worker benchmark (loadtests/bench/drain)
//! sluice-load bench ordering                             # what per-chat ordering costs
//! sluice-load replies --stand-in http://127.0.0.1:8081 --gate  # bots' replies under Telegram's limits
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_loadtests::{bench, bots, dbsnap, gate, profile, report, run, summary::Summary};

#[derive(Parser)]
#[command(
    name = "sluice-load",
    version,
    about = "Load profiles and SLO gates for sluice"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send a profile's traffic to a running sluice-api and write the summary and reports.
    Run(RunCommand),
    /// Judge a run (ours or k6's summary) against loadtests/slo.toml and verify delivery.
    Gate(gate::GateArgs),
    /// Record Postgres lock waits and the deadlock counter (before and after a run).
    DbSnapshot(dbsnap::DbSnapshotArgs),
    /// Print slo.toml's thresholds in another tool's form (`slo k6`).
    Slo(gate::SloArgs),
    /// Render report.html again from a summary, with the gate's verdict.
    Report(ReportArgs),
    /// Register bots for an external tool (k6) and write them as JSON.
    Setup(SetupArgs),
    /// List the profiles.
    Profiles,
    /// The traffic model: `traffic export` writes the fixtures k6 and wrk read.
    Traffic(sluice_loadtests::traffic::export::TrafficArgs),
    /// Run a benchmark: start sluice's binaries, load them with wrk, write the figures.
    Bench(bench::BenchArgs),
    /// The replies profile: updates in for bots that answer each, then the Telegram stand-in's
    /// record checked against its limits (429s, sends per bot and chat per window).
    Replies(sluice_loadtests::replies::RepliesArgs),
}

#[derive(clap::Args)]
struct RunCommand {
    #[command(flatten)]
    run: run::RunArgs,
    /// Then gate the run: Postgres snapshots around it, thresholds, delivery verified (needs
    /// DATABASE_URL). Exits as the gate does.
    #[arg(long)]
    gate: bool,
    /// The thresholds file for --gate.
    #[arg(long, default_value = "loadtests/slo.toml")]
    slo: std::path::PathBuf,
}

#[derive(clap::Args)]
struct ReportArgs {
    #[arg(long)]
    summary: std::path::PathBuf,
    /// The gate's verdict.json (default: beside the summary, when there).
    #[arg(long)]
    verdict: Option<std::path::PathBuf>,
    /// Where to write the page (default: report.html beside the summary).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

#[derive(clap::Args)]
struct SetupArgs {
    /// Postgres of the sluice under test.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// How many bots.
    #[arg(long, default_value_t = 50)]
    bots: usize,
    /// Where to write `[{"name":..,"secret":..}]`.
    #[arg(long, default_value = "bots.json")]
    out: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run_command(args).await,
        Command::Gate(args) => Ok(gate::gate(args).await),
        Command::DbSnapshot(args) => Ok(dbsnap::db_snapshot(args).await),
        Command::Slo(args) => Ok(gate::slo(args)),
        Command::Report(args) => report_command(args),
        Command::Setup(args) => setup(args).await,
        Command::Traffic(args) => {
            sluice_loadtests::traffic::export::traffic(args).map(|()| ExitCode::SUCCESS)
        }
        Command::Bench(args) => bench::bench(args).await,
        Command::Replies(args) => sluice_loadtests::replies::replies(args).await,
        Command::Profiles => {
            for name in profile::NAMES {
                let p = profile::Profile::named(name).expect("listed");
                println!("{name:<10} {}", p.describe());
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice-load: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run_command(cmd: RunCommand) -> anyhow::Result<ExitCode> {
    let snapshots = if cmd.gate {
        let url = cmd.run.database_url.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "--gate needs --database-url (or DATABASE_URL) for snapshots and delivery"
            )
        })?;
        Some((dbsnap::connect(url).await?, url.to_owned()))
    } else {
        None
    };
    let before = match &snapshots {
        Some((pool, _)) => Some(dbsnap::take(pool).await?),
        None => None,
    };
    let profile = cmd.run.profile.clone();
    let outcome = run::run(cmd.run).await?;
    let s = &outcome.summary;
    let stat = |m: &str, k: &str| {
        s.metrics
            .get(m)
            .and_then(|v| v.get(k))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "{}: {} requests in {:.1} s ({:.0}/s), failed {:.2} %, dropped {}, p95 {:.1} ms, p99 {:.1} ms (corrected; raw p95 {:.1} ms), by status {:?}",
        s.profile,
        s.requests.total,
        s.duration_s,
        stat("http_reqs", "rate"),
        stat("http_req_failed", "rate") * 100.0,
        stat("dropped_iterations", "count"),
        stat("http_req_duration", "p(95)"),
        stat("http_req_duration", "p(99)"),
        stat("http_req_duration_raw", "p(95)"),
        s.requests.by_status,
    );
    if s.profile != "flood" && s.requests.by_status.contains_key("429") {
        eprintln!(
            "sluice-load: note: 429s in '{}': the target's admission limits are below this profile's traffic (see docs/load-testing.md)",
            s.profile
        );
    }
    println!("summary: {}", outcome.summary_path.display());
    let (Some((pool, url)), Some(before)) = (snapshots, before) else {
        return Ok(ExitCode::SUCCESS);
    };
    let dir = outcome
        .summary_path
        .parent()
        .expect("a file in the output dir");
    let after = dbsnap::take(&pool).await?;
    let (before_path, after_path) = (dir.join("db-before.json"), dir.join("db-after.json"));
    std::fs::write(&before_path, serde_json::to_string_pretty(&before)?)?;
    std::fs::write(&after_path, serde_json::to_string_pretty(&after)?)?;
    let mut args = gate::GateArgs::new(&profile, &outcome.summary_path);
    args.db_before = Some(before_path);
    args.db_after = Some(after_path);
    args.database_url = Some(url);
    args.slo = cmd.slo;
    let verdict_path = args.verdict_path();
    let code = gate::gate(args).await;
    write_report(&outcome.summary_path, Some(&verdict_path), None)?;
    Ok(code)
}

fn report_command(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let path = write_report(&args.summary, args.verdict.as_deref(), args.out.as_deref())?;
    println!("{}", path.display());
    Ok(ExitCode::SUCCESS)
}

/// report.html with the verdict at the top when there is one.
fn write_report(
    summary_path: &std::path::Path,
    verdict: Option<&std::path::Path>,
    out: Option<&std::path::Path>,
) -> anyhow::Result<std::path::PathBuf> {
    let summary = Summary::read(summary_path)?;
    let verdict_path = verdict
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| summary_path.with_file_name("verdict.json"));
    let verdict: Option<serde_json::Value> = std::fs::read_to_string(&verdict_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let out = out
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| summary_path.with_file_name("report.html"));
    std::fs::write(&out, report::render(&summary, verdict.as_ref()))?;
    Ok(out)
}

async fn setup(args: SetupArgs) -> anyhow::Result<ExitCode> {
    let bots = bots::register_bots(&args.database_url, args.bots).await?;
    std::fs::write(&args.out, serde_json::to_string_pretty(&bots)? + "\n")?;
    println!(
        "{} bots registered, written to {}",
        bots.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
