//! `sluice-load`: realistic bot traffic against a running sluice, and the SLO gate.
//!
//! ```sh
//! sluice-load profiles                                   # the presets, their rates and durations
//! sluice-load run --profile steady --out /tmp/steady     # traffic; summary.json, report.html
//! sluice-load gate --profile steady --summary /tmp/steady/summary.json
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_loadtests::{profile, run};

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
    Run(run::RunArgs),
    /// Register bots for an external tool (k6) and write them as JSON.
    Setup(SetupArgs),
    /// List the profiles.
    Profiles,
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
        Command::Setup(args) => setup(args).await,
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

async fn run_command(args: run::RunArgs) -> anyhow::Result<ExitCode> {
    let outcome = run::run(args).await?;
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
    Ok(ExitCode::SUCCESS)
}

async fn setup(args: SetupArgs) -> anyhow::Result<ExitCode> {
    let db = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&args.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    let bots = run::register_bots(&db, args.bots).await?;
    std::fs::write(&args.out, serde_json::to_string_pretty(&bots)? + "\n")?;
    println!(
        "{} bots registered, written to {}",
        bots.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
