//! `sluice-load replies`: the replies profile. Drives updates in for N bots whose bot answers
//! every one (a webhook reply from the echo server this command runs, executed by sluice's
//! forward workers through the shared limiter), then reads the Telegram stand-in's record
//! (`GET /_stand-in/calls`) and checks it: 429s, and every bot's, chat's and group's densest
//! window against the limits the stand-in enforced. Writes `summary.json` (profile `replies`,
//! gated by `loadtests/slo.toml`).
//!
//! ```sh
//! telegram-stand-in --addr 127.0.0.1:8081 &                       # Telegram, with its limits
//! SLUICE_TELEGRAM_API_URL=http://127.0.0.1:8081 SLUICE_HANDLER=forward sluice-worker run &
//! SLUICE_SECRETS_KEY=... sluice-load replies --target http://127.0.0.1:8080 \
//!     --stand-in http://127.0.0.1:8081 --echo-addr 127.0.0.1:8090 --bots 20 --rate 1800 --gate
//! ```
//!
//! # Layout
//! - this file: the arguments and the run, start to verdict.
//! - [`echo`]: the bots' webhook server. [`drive`]: the updates in. [`check`]: the record judged.

pub mod check;
pub mod drive;
pub mod echo;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use sluice_shared::config::parse_duration;

use crate::summary::{self, MetricStats, Plan, Requests, Summary};
use check::{Call, Findings, Limits};

/// The profile's name in slo.toml and in the summary.
pub const PROFILE: &str = "replies";

/// No `Debug`: it holds the secrets key.
#[derive(Clone, clap::Args)]
pub struct RepliesArgs {
    /// sluice-api's base URL (its webhook listener).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// The Telegram stand-in's base URL (`telegram-stand-in`), where the workers'
    /// SLUICE_TELEGRAM_API_URL points.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    pub stand_in: String,
    /// Postgres of the sluice under test: the bots are registered there (`sluice-api bots add
    /// --token`, which needs SLUICE_SECRETS_KEY, the workers' key, in the environment).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// The workers' SLUICE_SECRETS_KEY: `sluice-api bots add --token` seals the bots' tokens
    /// under it.
    #[arg(long, env = "SLUICE_SECRETS_KEY", hide_env_values = true)]
    pub secrets_key: String,
    /// The `sluice-api` that registers the bots (default: beside this program, else on PATH).
    #[arg(long, env = "SLUICE_API_BIN")]
    pub api_bin: Option<PathBuf>,
    /// Where the bots' webhook server listens; the bots are registered with it as their
    /// forward URL, so the workers must reach it there.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub echo_addr: std::net::SocketAddr,
    #[arg(long, default_value_t = 10)]
    pub bots: usize,
    /// Chats per bot, in turn.
    #[arg(long, default_value_t = 20)]
    pub chats: u32,
    /// Updates per second, all bots together.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,
    /// How long to wait, after the last update, for every reply to reach the stand-in.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Where summary.json goes.
    #[arg(long, default_value = "target/load/replies")]
    pub out: PathBuf,
    /// Then gate the run against slo.toml's `replies` table (exit 0 PASS, 1 FAIL).
    #[arg(long)]
    pub gate: bool,
    #[arg(long, default_value = crate::gate::DEFAULT_SLO)]
    pub slo: PathBuf,
}

/// The run's outcome.
pub struct Outcome {
    pub summary_path: PathBuf,
    pub findings: Findings,
}

/// Runs the profile, prints what the record shows, and gates it when asked.
pub async fn replies(args: RepliesArgs) -> anyhow::Result<ExitCode> {
    let outcome = run(&args).await?;
    let f = &outcome.findings;
    println!(
        "replies: {} sent, {} 429s, {} other errors; densest bot second {} (allowed {}), chat second {} (allowed {}); over a limit: {:?}",
        f.sent,
        f.refused_429,
        f.other_errors,
        f.densest_bot.0,
        f.densest_bot.1,
        f.densest_chat.0,
        f.densest_chat.1,
        f.over_limit
    );
    println!("summary: {}", outcome.summary_path.display());
    if !args.gate {
        return Ok(ExitCode::SUCCESS);
    }
    let mut gate_args = crate::gate::GateArgs::new(PROFILE, &outcome.summary_path);
    gate_args.no_verify = true;
    gate_args.slo = args.slo.clone();
    Ok(crate::gate::gate(gate_args).await)
}

/// Registers the bots, serves them, drives the updates, waits for the replies and writes the
/// summary.
pub async fn run(args: &RepliesArgs) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        args.bots > 0 && args.rate > 0.0,
        "--bots and --rate must be positive"
    );
    let http = reqwest::Client::new();
    let limits: Limits = get(&http, &format!("{}/_stand-in/limits", args.stand_in)).await?;
    let (echo, _server) = echo::start(args.echo_addr).await?;
    let hook = format!("http://{echo}/hook");
    let bin = args.api_bin.clone().unwrap_or_else(crate::bots::api_binary);
    let bots = crate::bots::register_bots_with_tokens(
        &bin,
        &args.database_url,
        &args.secrets_key,
        args.bots,
        &hook,
    )
    .await?;
    crate::bots::wait_until_known(&args.target, &bots[0].cred.name).await?;
    let creds: Vec<_> = bots.iter().map(|b| b.cred.clone()).collect();
    let started_at = chrono::Utc::now();
    let start = Instant::now();
    let answers = drive::drive(&args.target, &creds, args.chats, args.rate, args.duration).await?;
    let ids: Vec<&str> = bots.iter().map(|b| b.token_id.as_str()).collect();
    let calls = wait_for_replies(&http, args, &ids, answers.accepted()).await?;
    let findings = check::check(&calls, &limits);
    let summary = summarize(
        args,
        &answers,
        &findings,
        &calls,
        started_at,
        start.elapsed(),
    );
    std::fs::create_dir_all(&args.out)?;
    let summary_path = args.out.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_string_pretty(&summary)?)?;
    Ok(Outcome {
        summary_path,
        findings,
    })
}

async fn get<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
) -> anyhow::Result<T> {
    let resp = http
        .get(url)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{url}: {e} (is telegram-stand-in running?)"))?;
    anyhow::ensure!(resp.status().is_success(), "{url}: HTTP {}", resp.status());
    Ok(resp.json().await?)
}

/// The run's calls once every accepted update has its reply at the stand-in (or the drain
/// timeout passed: the check then counts what came).
async fn wait_for_replies(
    http: &reqwest::Client,
    args: &RepliesArgs,
    ids: &[&str],
    expected: u64,
) -> anyhow::Result<Vec<Call>> {
    let url = format!("{}/_stand-in/calls", args.stand_in);
    let until = Instant::now() + args.drain_timeout;
    loop {
        let all: Vec<Call> = get(http, &url).await?;
        let ours: Vec<Call> = all
            .into_iter()
            .filter(|c| ids.contains(&c.bot.as_str()))
            .collect();
        let sent = ours.iter().filter(|c| c.status == 200).count() as u64;
        if sent >= expected || Instant::now() >= until {
            return Ok(ours);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn stats(pairs: &[(&str, f64)]) -> MetricStats {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn summarize(
    args: &RepliesArgs,
    answers: &drive::Answers,
    f: &Findings,
    calls: &[Call],
    started_at: chrono::DateTime<chrono::Utc>,
    took: Duration,
) -> Summary {
    let total = answers.by_status.values().sum::<u64>() + answers.transport_errors;
    let failed = total - answers.accepted();
    let accepted = answers.accepted().max(1) as f64;
    let first = calls.iter().map(|c| c.at_us).min().unwrap_or(0);
    let last = calls.iter().map(|c| c.at_us).max().unwrap_or(0);
    let span = ((last - first) as f64 / 1e6).max(1e-3);
    let mut metrics = BTreeMap::new();
    metrics.insert(
        "http_reqs".into(),
        stats(&[
            ("count", total as f64),
            ("rate", total as f64 / args.duration.as_secs_f64()),
        ]),
    );
    metrics.insert(
        "http_req_failed".into(),
        stats(&[
            ("rate", failed as f64 / total.max(1) as f64),
            ("passes", failed as f64),
            ("fails", (total - failed) as f64),
        ]),
    );
    metrics.insert(
        "replies_429".into(),
        stats(&[("count", f.refused_429 as f64)]),
    );
    metrics.insert(
        "replies_over_limit".into(),
        stats(&[("count", f.over_limit.len() as f64)]),
    );
    metrics.insert(
        "replies_delivered".into(),
        stats(&[("rate", f.sent as f64 / accepted)]),
    );
    metrics.insert(
        "replies_sent".into(),
        stats(&[("count", f.sent as f64), ("rate", f.sent as f64 / span)]),
    );
    metrics.insert(
        "replies_densest_bot_second".into(),
        stats(&[
            ("value", f.densest_bot.0 as f64),
            ("max", f.densest_bot.1 as f64),
        ]),
    );
    metrics.insert(
        "replies_densest_chat_second".into(),
        stats(&[
            ("value", f.densest_chat.0 as f64),
            ("max", f.densest_chat.1 as f64),
        ]),
    );
    let mut environment = BTreeMap::new();
    environment.insert("stand_in".into(), args.stand_in.clone());
    if let Ok(host) = hostname::get() {
        environment.insert("host".into(), host.to_string_lossy().into_owned());
    }
    Summary {
        tool: summary::TOOL.into(),
        format: summary::FORMAT,
        profile: PROFILE.into(),
        target: args.target.clone(),
        started_at: started_at.to_rfc3339(),
        duration_s: took.as_secs_f64(),
        plan: Plan {
            shape: format!(
                "{}/s for {} s over {} bots x {} chats",
                args.rate,
                args.duration.as_secs_f64(),
                args.bots,
                args.chats
            ),
            arrivals: (args.rate * args.duration.as_secs_f64()).round() as u64,
            duration_s: args.duration.as_secs_f64(),
            resend_share: 0.0,
        },
        requests: Requests {
            total,
            by_status: answers.by_status.clone(),
            transport_errors: answers.transport_errors,
            ..Requests::default()
        },
        metrics,
        checks: Vec::new(),
        timeseries: Vec::new(),
        ledger: None,
        bots: Vec::new(),
        ordering: None,
        goose_report: None,
        environment,
    }
}
