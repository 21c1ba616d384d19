//! `sluice-load run`: a profile's traffic against a running sluice, through goose.
//!
//! Open model: a dispatcher follows the profile's schedule and hands each due update to a pool
//! of goose users over a channel, whatever the answers' latency; latency is measured from the
//! moment an update was due (coordinated omission corrected), and an update no user could pick
//! up within `--drop-after` is counted as a dropped iteration, as k6 does. The `users` profile
//! is the exception: simulated users with think time, each sending its own updates.

mod attack;
mod dispatch;
mod item;
mod progress;
mod record;
mod senders;
mod state;
mod summarize;

use std::collections::BinaryHeap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rand::{Rng, SeedableRng, rngs::StdRng};
use sluice_shared::config::parse_duration;

use crate::bots::{register_bots, wait_until_known};
use crate::profile::{Profile, Shape};
use crate::sample::Sampler;
use crate::summary::{self, Summary};
use crate::traffic::{BotCred, Population};

use record::Recorder;
use state::{STATE, State};
use summarize::{build_summary, environment};

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// steady, peak, burst, duplicate, flood, ramp, users or endurance.
    #[arg(long)]
    pub profile: String,
    /// Base URL of sluice-api's webhook listener.
    #[arg(long, env = "SLUICE_TARGET", default_value = "http://127.0.0.1:8080")]
    pub target: String,
    /// sluice-api's metrics endpoint, read every second for the queue depth ("none" to skip).
    #[arg(long, default_value = "http://127.0.0.1:9090/metrics")]
    pub metrics_url: String,
    /// Postgres of the sluice under test: registers the run's bots and watches lock waits.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Redis of the sluice under test: `used_memory` is sampled every second.
    #[arg(long, env = "REDIS_URL")]
    pub redis_url: Option<String>,
    /// Bots already registered (`sluice-load setup` writes this file) instead of new ones.
    #[arg(long)]
    pub bots_file: Option<PathBuf>,
    /// A process whose resident memory is sampled, as NAME=PID (repeatable).
    #[arg(long = "watch", value_parser = parse_watch)]
    pub watch: Vec<(String, u32)>,
    /// Run for this long instead of the profile's duration (e.g. 20s, 5m).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Multiply every rate of the profile (users: the number of users).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// goose users sending the open-model arrivals (default: enough for 1 s of the peak rate).
    #[arg(long)]
    pub senders: Option<usize>,
    /// A request without an answer by then is a timeout (a failure).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// An arrival no sender could pick up within this is dropped (k6's dropped_iterations).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub drop_after: Duration,
    /// Directory for summary.json, ledger.csv, report.html and goose.html.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed of the traffic generator (random by default).
    #[arg(long)]
    pub seed: Option<u64>,
    /// No progress bar (a line every 10 s instead).
    #[arg(long)]
    pub no_progress: bool,
    /// Re-send an update answered 429 or 503 after its Retry-After, as Telegram does, up to N
    /// times (0: never). The gate then expects the accepted ones in Postgres.
    #[arg(long, default_value_t = 0)]
    pub retry_refused: u32,
    /// The per-chat ordering the target runs with (its SLUICE_ORDERING): recorded in the
    /// summary, and the gate then checks that each chat's updates were handled in order.
    #[arg(long, value_enum, env = "SLUICE_ORDERING", default_value = "chat")]
    pub ordering: crate::ordering::Ordering,
}

fn parse_watch(s: &str) -> Result<(String, u32), String> {
    let (name, pid) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=PID, got '{s}'"))?;
    let pid = pid
        .parse()
        .map_err(|_| format!("'{pid}' is not a process id"))?;
    Ok((name.to_owned(), pid))
}

/// What a finished run left behind.
pub struct RunOutcome {
    pub summary_path: PathBuf,
    pub summary: Summary,
}

pub async fn run(args: RunArgs) -> anyhow::Result<RunOutcome> {
    let profile = resolve_profile(&args)?;
    let target = args.target.trim_end_matches('/').to_owned();
    let out = output_dir(&args, &profile);
    std::fs::create_dir_all(&out)?;

    let db = connect_db(&args).await?;
    let bots = run_bots(&args, &profile).await?;
    std::fs::write(out.join("bots.json"), serde_json::to_string_pretty(&bots)?)?;
    // Registered one after the other: once the api knows the last, it knows them all.
    wait_until_known(&target, &bots[bots.len() - 1].name).await?;

    let mut rng = match args.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_os_rng(),
    };
    let population = Population::new(bots.clone(), 2000, &mut rng);
    let senders = match profile.shape {
        Shape::Users { users, .. } => users,
        _ => args
            .senders
            .unwrap_or_else(|| (profile.peak_rate().ceil() as usize).clamp(20, 1000)),
    };
    let (tx, rx) = flume::unbounded();
    let state = shared_state(&args, &profile, &target, &bots, population, rx);
    STATE
        .set(state.clone())
        .map_err(|_| anyhow::anyhow!("one run per process"))?;

    let environment = environment();
    let started_at = chrono::Utc::now();
    let sampler = Sampler::new(
        (args.metrics_url != "none").then(|| args.metrics_url.clone()),
        args.watch.clone(),
        args.redis_url.as_deref(),
        db.clone(),
    )
    .await?;
    let (plan_arrivals, dispatcher) = if let Shape::Users { .. } = profile.shape {
        drop(tx);
        (0, None)
    } else {
        let arrivals = profile.arrivals();
        let planned = arrivals.len() as u64;
        let task = dispatch::dispatch(state.clone(), arrivals, tx, senders, rng.random());
        (planned, Some(tokio::spawn(task)))
    };
    let quiet = args.no_progress || !std::io::stderr().is_terminal();
    let (sampler_task, samples) = progress::spawn_sampling(state.clone(), sampler, quiet);

    let goose_report = out.join("goose.html");
    let goose_result = attack::goose_attack(&profile, &args, &target, senders, &goose_report)?
        .execute()
        .await;
    if let Some(d) = dispatcher {
        d.abort();
    }
    sampler_task.abort();
    let _ = sampler_task.await;
    if let Err(e) = goose_result {
        anyhow::bail!("goose: {e}");
    }

    let samples = std::mem::take(&mut *samples.lock().expect("not poisoned"));
    let mut summary = build_summary(
        &state,
        &target,
        started_at,
        plan_arrivals,
        samples,
        environment,
        bots.iter().map(|b| b.name.clone()).collect(),
        goose_report.exists().then(|| "goose.html".to_owned()),
    );
    summary.ordering = Some(args.ordering.name().to_owned());
    write_outputs(&state, &out, summary)
}

/// The named profile, stretched to `--duration` and scaled by `--scale`.
fn resolve_profile(args: &RunArgs) -> anyhow::Result<Profile> {
    let mut profile = Profile::named(&args.profile).ok_or_else(|| {
        anyhow::anyhow!(
            "unknown profile '{}' (one of: {})",
            args.profile,
            crate::profile::NAMES.join(", ")
        )
    })?;
    if let Some(d) = args.duration {
        profile = profile.with_duration(d);
    }
    if args.scale != 1.0 {
        anyhow::ensure!(args.scale > 0.0, "--scale must be positive");
        profile = profile.scaled(args.scale);
    }
    Ok(profile)
}

/// `--out`, or `loadtests/results/<profile>-<UTC time>`.
fn output_dir(args: &RunArgs, profile: &Profile) -> PathBuf {
    args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "loadtests/results/{}-{}",
            profile.name,
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    })
}

async fn connect_db(args: &RunArgs) -> anyhow::Result<Option<sqlx::PgPool>> {
    let Some(url) = &args.database_url else {
        return Ok(None);
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?;
    Ok(Some(pool))
}

/// The bots of `--bots-file`, or as many new ones as the profile wants.
async fn run_bots(args: &RunArgs, profile: &Profile) -> anyhow::Result<Vec<BotCred>> {
    match &args.bots_file {
        Some(path) => {
            let bots: Vec<BotCred> = serde_json::from_str(&std::fs::read_to_string(path)?)?;
            anyhow::ensure!(!bots.is_empty(), "{}: no bots", path.display());
            Ok(bots)
        }
        None => {
            let url = args.database_url.as_deref().ok_or_else(|| {
                anyhow::anyhow!("give --database-url (or DATABASE_URL) to register the run's bots, or --bots-file")
            })?;
            register_bots(url, profile.bots).await
        }
    }
}

fn shared_state(
    args: &RunArgs,
    profile: &Profile,
    target: &str,
    bots: &[BotCred],
    population: Population,
    rx: flume::Receiver<state::Item>,
) -> Arc<State> {
    Arc::new(State {
        profile: profile.clone(),
        bot_paths: bots
            .iter()
            .map(|b| format!("{target}/webhook/telegram/{}", b.name))
            .collect(),
        population,
        rx,
        start: OnceLock::new(),
        drop_after: args.drop_after,
        deadline: OnceLock::new(),
        ready: Default::default(),
        in_flight: Default::default(),
        later: Mutex::new(BinaryHeap::new()),
        // Simulated users type again themselves; only the open model re-sends like Telegram.
        retry_refused: if matches!(profile.shape, Shape::Users { .. }) {
            0
        } else {
            args.retry_refused
        },
        rec: Mutex::new(Recorder::new()),
    })
}

/// ledger.csv, summary.json and report.html in `out`.
fn write_outputs(state: &State, out: &Path, summary: Summary) -> anyhow::Result<RunOutcome> {
    let rec = state.rec.lock().expect("not poisoned");
    summary::write_ledger(&out.join("ledger.csv"), &rec.ledger)?;
    drop(rec);
    let summary_path = out.join("summary.json");
    summary.write(&summary_path)?;
    crate::report::write(&summary, &out.join("report.html"))?;
    Ok(RunOutcome {
        summary_path,
        summary,
    })
}
