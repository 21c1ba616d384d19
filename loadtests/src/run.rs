//! `sluice-load run`: a profile's traffic against a running sluice, through goose.
//!
//! Open model: a dispatcher follows the profile's schedule and hands each due update to a pool
//! of goose users over a channel, whatever the answers' latency; latency is measured from the
//! moment an update was due (coordinated omission corrected), and an update no user could pick
//! up within `--drop-after` is counted as a dropped iteration, as k6 does. The `users` profile
//! is the exception: simulated users with think time, each sending its own updates.

mod dispatch;
mod record;
mod senders;
mod state;
mod summarize;

use std::collections::BinaryHeap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use goose::goose::{Scenario, Transaction};
use goose::prelude::{GooseAttack, GooseDefault, GooseDefaultType};
use rand::{Rng, SeedableRng, rngs::StdRng};
use sluice_shared::config::parse_duration;

use crate::bots::{register_bots, wait_until_known};
use crate::profile::{Profile, Shape};
use crate::sample::{Sample, Sampler};
use crate::summary::{self, Summary};
use crate::traffic::{BotCred, Population};

use record::Recorder;
use senders::{sender, simulated_user};
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
    let target = args.target.trim_end_matches('/').to_owned();
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "loadtests/results/{}-{}",
            profile.name,
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        ))
    });
    std::fs::create_dir_all(&out)?;

    let db = match &args.database_url {
        Some(url) => Some(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(2)
                .connect(url)
                .await
                .map_err(|e| anyhow::anyhow!("DATABASE_URL: {e}"))?,
        ),
        None => None,
    };
    let bots = match &args.bots_file {
        Some(path) => {
            let bots: Vec<BotCred> = serde_json::from_str(&std::fs::read_to_string(path)?)?;
            anyhow::ensure!(!bots.is_empty(), "{}: no bots", path.display());
            bots
        }
        None => {
            let url = args.database_url.as_deref().ok_or_else(|| {
                anyhow::anyhow!("give --database-url (or DATABASE_URL) to register the run's bots, or --bots-file")
            })?;
            register_bots(url, profile.bots).await?
        }
    };
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
    let state = Arc::new(State {
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
    });
    STATE
        .set(state.clone())
        .map_err(|_| anyhow::anyhow!("one run per process"))?;

    let environment = environment();
    let started_at = chrono::Utc::now();
    let mut sampler = Sampler::new(
        (args.metrics_url != "none").then(|| args.metrics_url.clone()),
        args.watch.clone(),
        args.redis_url.as_deref(),
        db.clone(),
    )
    .await?;
    let plan_arrivals;
    let dispatcher = if let Shape::Users { .. } = profile.shape {
        plan_arrivals = 0;
        drop(tx);
        None
    } else {
        let arrivals = profile.arrivals();
        plan_arrivals = arrivals.len() as u64;
        Some(tokio::spawn(dispatch::dispatch(
            state.clone(),
            arrivals,
            tx,
            senders,
            rng.random(),
        )))
    };

    // Samples and the progress bar, once a second from the start of the schedule.
    let samples = Arc::new(Mutex::new(Vec::<(u32, Sample)>::new()));
    let sampler_task = {
        let state = state.clone();
        let samples = samples.clone();
        let quiet = args.no_progress || !std::io::stderr().is_terminal();
        let total = profile.duration.as_secs();
        tokio::spawn(async move {
            let bar = (!quiet).then(|| progress_bar(total));
            while state.start.get().is_none() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let start = *state.start.get().expect("set");
            let mut tick = tokio::time::interval_at(start.into(), Duration::from_secs(1));
            loop {
                tick.tick().await;
                let t = start.elapsed().as_secs() as u32;
                let s = sampler.sample().await;
                let line = progress_line(&state, &s);
                if let Some(bar) = &bar {
                    bar.set_position(u64::from(t).min(total));
                    bar.set_message(line);
                } else if t.is_multiple_of(10) {
                    eprintln!("[{t:>4} s] {line}");
                }
                samples.lock().expect("not poisoned").push((t, s));
                if goose::is_killswitch_triggered() {
                    break;
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        })
    };

    let goose_report = out.join("goose.html");
    let scenario = match profile.shape {
        // Think time is the user's own (between its actions, inside one long transaction).
        Shape::Users { .. } => {
            Scenario::new("users").register_transaction(Transaction::new(Arc::new(|user| {
                Box::pin(simulated_user(user))
            })))
        }
        _ => Scenario::new("webhook")
            .register_transaction(Transaction::new(Arc::new(|user| Box::pin(sender(user))))),
    };
    // One shared client (one connection pool, as Telegram's sender has): building a TLS-capable
    // client per user takes long enough to stall the launch of a thousand users.
    let client = goose::client::GooseClientBuilder::new()
        .without_cookies()
        .timeout(args.timeout)
        .user_agent("sluice-load");
    let attack = GooseAttack::initialize_with_config(Default::default())?
        .set_client_builder_without_cookies(client)?
        .register_scenario(scenario)
        .set_default(GooseDefault::Host, target.as_str())?
        .set_default(GooseDefault::Users, senders)?
        .set_default(GooseDefault::IncreaseRate, senders.to_string().as_str())?
        .set_default(GooseDefault::Iterations, 1)?
        .set_default(GooseDefault::Quiet, 1)?
        .set_default(GooseDefault::NoPrintMetrics, true)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(
            GooseDefault::ReportFile,
            goose_report.to_string_lossy().as_ref(),
        )?;
    // The schedule's clock starts once every sender is waiting; the deadline is a safety net.
    let goose_result = attack.execute().await;
    if let Some(d) = dispatcher {
        d.abort();
    }
    sampler_task.abort();
    let _ = sampler_task.await;
    if let Err(e) = goose_result {
        anyhow::bail!("goose: {e}");
    }

    let samples = std::mem::take(&mut *samples.lock().expect("not poisoned"));
    let summary = build_summary(
        &state,
        &target,
        started_at,
        plan_arrivals,
        samples,
        environment,
        bots.iter().map(|b| b.name.clone()).collect(),
        goose_report.exists().then(|| "goose.html".to_owned()),
    );
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

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar
}

fn progress_line(state: &State, s: &Sample) -> String {
    let rec = state.rec.lock().expect("not poisoned");
    let ok = rec.requests.answered_2xx();
    let backlog: f64 = s
        .queue_depth
        .iter()
        .filter(|(k, _)| k.ends_with(":pending") || k.ends_with(":scheduled"))
        .map(|(_, v)| v)
        .sum();
    format!(
        "sent {}  2xx {}  failed {}  dropped {}  p95 {:.1} ms  queued {backlog}",
        rec.requests.total,
        ok,
        rec.failed,
        rec.dropped,
        rec.corrected.value_at_quantile(0.95) as f64 / 1000.0
    )
}
