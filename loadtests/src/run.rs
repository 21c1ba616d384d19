//! `sluice-load run`: a profile's traffic against a running sluice, through goose.
//!
//! Open model: a dispatcher follows the profile's schedule and hands each due update to a pool
//! of goose users over a channel, whatever the answers' latency; latency is measured from the
//! moment an update was due (coordinated omission corrected), and an update no user could pick
//! up within `--drop-after` is counted as a dropped iteration, as k6 does. The `users` profile
//! is the exception: simulated users with think time, each sending its own updates.

use std::collections::{BTreeMap, BinaryHeap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use goose::goose::{GooseMethod, GooseRequest, GooseUser, Scenario, Transaction, TransactionError};
use goose::prelude::{GooseAttack, GooseDefault, GooseDefaultType};
use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng, rngs::StdRng};
use sluice_shared::config::parse_duration;

use crate::profile::{Profile, Shape, Stream};
use crate::sample::{Sample, Sampler};
use crate::summary::{self, Check, LedgerEntry, Plan, Requests, Second, Summary};
use crate::traffic::{BotCred, Chat, Kind, Population, Update};

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

/// A due update handed to a sender.
#[derive(Clone)]
struct Item {
    due: Instant,
    update: Arc<Update>,
    stream: Stream,
    resend: bool,
    /// Re-sends of a refused update so far (`--retry-refused`).
    attempt: u32,
}

/// A re-send waiting for its time (min-heap on `due`).
struct Pending(Item);

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.0.due == other.0.due
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.due.cmp(&self.0.due)
    }
}

/// Everything the goose users share.
struct State {
    profile: Profile,
    population: Population,
    bot_paths: Vec<String>,
    rx: flume::Receiver<Item>,
    start: OnceLock<Instant>,
    drop_after: Duration,
    /// When senders and simulated users give up (a safety net past the planned end).
    deadline: OnceLock<Instant>,
    ready: AtomicUsize,
    /// Items handed to the senders and not yet answered (or dropped).
    in_flight: AtomicUsize,
    /// Re-sends waiting for their time: the duplicate profile's, and refused updates'.
    later: Mutex<BinaryHeap<Pending>>,
    retry_refused: u32,
    rec: Mutex<Recorder>,
}

/// Answers, as they arrive.
struct Recorder {
    seconds: Vec<SecondRec>,
    corrected: Histogram<u64>,
    raw: Histogram<u64>,
    requests: Requests,
    failed: u64,
    limited: u64,
    dropped: u64,
    ledger: Vec<LedgerEntry>,
    checks: BTreeMap<&'static str, (u64, u64)>,
    quiet: (u64, u64),
    flood: (u64, u64),
    last_answer: Option<Instant>,
}

#[derive(Default)]
struct SecondRec {
    by_status: BTreeMap<String, u64>,
    hist: Option<Histogram<u64>>,
}

fn histogram() -> Histogram<u64> {
    // Microseconds up to 10 minutes at 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            seconds: Vec::new(),
            corrected: histogram(),
            raw: histogram(),
            requests: Requests::default(),
            failed: 0,
            limited: 0,
            dropped: 0,
            ledger: Vec::new(),
            checks: BTreeMap::new(),
            quiet: (0, 0),
            flood: (0, 0),
            last_answer: None,
        }
    }

    fn check(&mut self, name: &'static str, ok: bool) {
        let e = self.checks.entry(name).or_default();
        if ok {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
}

/// The result of one request, as a sender saw it.
struct Answer {
    status: u16,
    timeout: bool,
    /// The Retry-After header in seconds, when present and an integer (Telegram ignores dates).
    retry_after: Option<u64>,
    body_ok: bool,
    duplicate: bool,
}

static STATE: OnceLock<Arc<State>> = OnceLock::new();

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
            let db = db.as_ref().ok_or_else(|| {
                anyhow::anyhow!("give --database-url (or DATABASE_URL) to register the run's bots, or --bots-file")
            })?;
            register_bots(db, profile.bots).await?
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
        Some(tokio::spawn(dispatch(
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

/// Registers `n` bots named `load-<run>-<i>` with random secrets.
pub async fn register_bots(db: &sqlx::PgPool, n: usize) -> anyhow::Result<Vec<BotCred>> {
    let run = ulid::Ulid::generate().to_string().to_lowercase();
    let run = &run[run.len() - 8..];
    let mut rng = StdRng::from_os_rng();
    let mut bots = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("load-{run}-{i}");
        let secret: String = (0..32)
            .map(|_| {
                const A: &[u8] =
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
                A[rng.random_range(0..A.len())] as char
            })
            .collect();
        sluice_api::bots::add(db, &name, &secret).await?;
        bots.push(BotCred { name, secret });
    }
    Ok(bots)
}

/// The api refreshes its bot registry every couple of seconds: wait until it answers 401 (a
/// known bot, wrong secret) rather than 404 for `bot`.
async fn wait_until_known(target: &str, bot: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let url = format!("{target}/webhook/telegram/{bot}");
    let until = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < until {
        match http
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", "not-the-secret")
            .header("content-type", "application/json")
            .body(r#"{"update_id":1}"#)
            .send()
            .await
        {
            Ok(r) if r.status() == 401 || r.status() == 403 => return Ok(()),
            Ok(r) => last = format!("HTTP {}", r.status()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    anyhow::bail!("{url} does not know the run's bots after 15 s (last answer: {last})")
}

/// Follows the schedule: each arrival (and each re-send) goes to the senders when it is due.
async fn dispatch(
    state: Arc<State>,
    arrivals: Vec<crate::profile::Arrival>,
    tx: flume::Sender<Item>,
    senders: usize,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    // Start once the senders wait (goose launches them over about a second), or after 30 s.
    let waiting = Instant::now();
    while state.ready.load(Ordering::Relaxed) < senders
        && waiting.elapsed() < Duration::from_secs(30)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = Instant::now();
    let _ = state.start.set(start);
    let profile = &state.profile;
    let _ = state.deadline.set(
        start
            + profile.duration
            + profile.resend_delay
            + state.drop_after
            + Duration::from_secs(60 * (1 + u64::from(state.retry_refused))),
    );
    let flood_chat = Chat::Group {
        chat: -1_009_999_999_999,
        user: 7_000_000_001,
    };
    for a in arrivals {
        if goose::is_killswitch_triggered() {
            return;
        }
        let due = start + Duration::from_secs_f64(a.at);
        while let Some(p) = pop_due(&state, due) {
            tokio::time::sleep_until(p.due.into()).await;
            if !hand_over(&state, &tx, p) {
                return;
            }
        }
        tokio::time::sleep_until(due.into()).await;
        let pop = &state.population;
        let update = match a.stream {
            Stream::Mixed => pop.random(&mut rng),
            Stream::Quiet(i) => {
                let chat = Chat::Private(7_100_000_000 + i64::from(i));
                pop.make(0, chat, Kind::Text, &mut rng)
            }
            Stream::Flood => pop.make(0, flood_chat, Kind::Mention, &mut rng),
        };
        let item = Item {
            due,
            update: Arc::new(update),
            stream: a.stream,
            resend: false,
            attempt: 0,
        };
        if profile.resend_share > 0.0 && rng.random_bool(profile.resend_share) {
            let again = if rng.random_bool(profile.resend_concurrent) {
                Duration::ZERO
            } else {
                profile.resend_delay.mul_f64(rng.random::<f64>())
            };
            later(
                &state,
                Item {
                    due: due + again,
                    resend: true,
                    ..item.clone()
                },
            );
        }
        if !hand_over(&state, &tx, item) {
            return;
        }
    }
    // The schedule is over: re-sends still come due, and answers still in flight may refuse and
    // ask for more, so stop only when neither is left.
    loop {
        if goose::is_killswitch_triggered() {
            return;
        }
        let now = Instant::now();
        if let Some(p) = pop_due(&state, now) {
            if !hand_over(&state, &tx, p) {
                return;
            }
            continue;
        }
        let idle = state.in_flight.load(Ordering::SeqCst) == 0
            && state.later.lock().expect("not poisoned").is_empty();
        if idle {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn later(state: &State, item: Item) {
    state
        .later
        .lock()
        .expect("not poisoned")
        .push(Pending(item));
}

/// The earliest waiting re-send if it is due by `by`.
fn pop_due(state: &State, by: Instant) -> Option<Item> {
    let mut later = state.later.lock().expect("not poisoned");
    if later.peek().is_some_and(|p| p.0.due <= by) {
        later.pop().map(|p| p.0)
    } else {
        None
    }
}

/// Hands an item to the senders, counting it in flight until it is answered; false when the
/// senders are gone.
fn hand_over(state: &State, tx: &flume::Sender<Item>, item: Item) -> bool {
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    if tx.send(item).is_err() {
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        return false;
    }
    true
}

/// A goose user of the open model: sends whatever the dispatcher hands it until the schedule
/// ends (one long transaction; goose runs it once per user).
async fn sender(user: &mut GooseUser) -> Result<(), Box<TransactionError>> {
    let state = STATE.get().expect("set before the attack").clone();
    state.ready.fetch_add(1, Ordering::Relaxed);
    loop {
        let item = tokio::select! {
            item = state.rx.recv_async() => match item {
                Ok(item) => item,
                Err(_) => return Ok(()),
            },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                if goose::is_killswitch_triggered() || past_deadline(&state) {
                    return Ok(());
                }
                continue;
            }
        };
        if goose::is_killswitch_triggered() {
            return Ok(());
        }
        let sent = if item.due.elapsed() > state.drop_after {
            state.rec.lock().expect("not poisoned").dropped += 1;
            Ok(())
        } else {
            send(user, &state, &item).await
        };
        state.in_flight.fetch_sub(1, Ordering::SeqCst);
        sent?;
    }
}

fn past_deadline(state: &State) -> bool {
    state.deadline.get().is_some_and(|d| Instant::now() > *d)
}

/// A goose user of the `users` profile: one person talking to bots, with think time between
/// actions (goose's wait time), until the profile's duration is over.
async fn simulated_user(user: &mut GooseUser) -> Result<(), Box<TransactionError>> {
    let state = STATE.get().expect("set before the attack").clone();
    let start = *state.start.get_or_init(Instant::now);
    let _ = state
        .deadline
        .set(start + state.profile.duration + Duration::from_secs(30));
    let Shape::Users { think, .. } = state.profile.shape else {
        return Ok(());
    };
    let mut rng = StdRng::from_os_rng();
    let me = 6_000_000_000 + user.weighted_users_index as i64;
    let pop = &state.population;
    // Each user talks to a few bots, in private and in one group those bots are in.
    let group = -1_008_000_000_000 - (user.weighted_users_index as i64 % 20);
    while start.elapsed() < state.profile.duration && !goose::is_killswitch_triggered() {
        let bot = pop.pick_bot(&mut rng);
        let roll = rng.random_range(0..100);
        let (chat, kind) = match roll {
            // Normal: a private message or a command.
            0..60 => (
                Chat::Private(me),
                if rng.random_bool(0.25) {
                    Kind::Command
                } else {
                    Kind::Text
                },
            ),
            // Mention: @bot in a group.
            60..85 => (
                Chat::Group {
                    chat: group,
                    user: me,
                },
                Kind::Mention,
            ),
            // Reply: to the bot's message, or a button under it.
            _ => (
                if rng.random_bool(0.5) {
                    Chat::Private(me)
                } else {
                    Chat::Group {
                        chat: group,
                        user: me,
                    }
                },
                if rng.random_bool(0.5) {
                    Kind::Reply
                } else {
                    Kind::Callback
                },
            ),
        };
        let item = Item {
            due: Instant::now(),
            update: Arc::new(pop.make(bot, chat, kind, &mut rng)),
            stream: Stream::Mixed,
            resend: false,
            attempt: 0,
        };
        send(user, &state, &item).await?;
        let pause = rng.random_range(think.0..=think.1);
        tokio::time::sleep(Duration::from_secs_f64(pause)).await;
    }
    Ok(())
}

/// Posts one update and records the answer.
async fn send(
    user: &mut GooseUser,
    state: &State,
    item: &Item,
) -> Result<(), Box<TransactionError>> {
    let update = &item.update;
    let path = &state.bot_paths[update.bot];
    let ledger_at = {
        let mut rec = state.rec.lock().expect("not poisoned");
        rec.ledger.push(LedgerEntry {
            bot: state.population.bots[update.bot].name.clone(),
            update_id: update.update_id,
            status: 0,
            resend: item.resend,
        });
        if item.resend {
            rec.requests.resent += 1;
        }
        rec.ledger.len() - 1
    };
    let builder = user
        .get_request_builder(&GooseMethod::Post, path)?
        .header(
            "X-Telegram-Bot-Api-Secret-Token",
            state.population.bots[update.bot].secret.as_str(),
        )
        .header("content-type", "application/json")
        .body(update.body.clone());
    let request = GooseRequest::builder()
        .method(GooseMethod::Post)
        .path(path.as_str())
        .name("POST /webhook/telegram/{bot}")
        .set_request_builder(builder)
        .build();
    let sent = Instant::now();
    let mut response = user.request(request).await?;
    let expected_429 = item.stream == Stream::Flood;
    let answer = match response.response {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            if status == 429 && expected_429 {
                user.set_success(&mut response.request)?;
            }
            let body = r.bytes().await.unwrap_or_default();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            Answer {
                status,
                timeout: false,
                retry_after,
                body_ok: json["ok"].as_bool() == Some(true),
                duplicate: json["duplicate"].as_bool() == Some(true),
            }
        }
        Err(e) => Answer {
            status: 0,
            timeout: e.is_timeout(),
            retry_after: None,
            body_ok: false,
            duplicate: false,
        },
    };
    let done = Instant::now();
    let refused = answer.status == 429 || answer.status == 503;
    if refused && item.attempt < state.retry_refused {
        // Telegram waits exactly Retry-After (clamped to 0-3600 s; here to 60 s so a run ends).
        let wait = Duration::from_secs(answer.retry_after.unwrap_or(0).min(60));
        later(
            state,
            Item {
                due: done + wait,
                resend: true,
                attempt: item.attempt + 1,
                ..item.clone()
            },
        );
    }
    record(state, item, ledger_at, answer, sent, done);
    Ok(())
}

fn record(state: &State, item: &Item, ledger_at: usize, a: Answer, sent: Instant, done: Instant) {
    let start = *state.start.get().expect("set before any send");
    let corrected = done.saturating_duration_since(item.due).as_micros() as u64;
    let raw = done.saturating_duration_since(sent).as_micros() as u64;
    let second = done.saturating_duration_since(start).as_secs() as usize;
    let ok = (200..300).contains(&a.status);
    let flood = item.stream == Stream::Flood;
    let expected = ok || (flood && a.status == 429);
    let mut rec = state.rec.lock().expect("not poisoned");
    rec.ledger[ledger_at].status = a.status;
    rec.last_answer = Some(done);
    rec.requests.total += 1;
    let key = if a.status == 0 {
        if a.timeout {
            rec.requests.timeouts += 1;
        } else {
            rec.requests.transport_errors += 1;
        }
        "error".to_owned()
    } else {
        *rec.requests
            .by_status
            .entry(a.status.to_string())
            .or_default() += 1;
        a.status.to_string()
    };
    if a.duplicate {
        rec.requests.duplicates_answered += 1;
    }
    if !expected {
        rec.failed += 1;
    }
    if a.status == 429 {
        rec.limited += 1;
    }
    let _ = rec.corrected.record(corrected.max(1));
    let _ = rec.raw.record(raw.max(1));
    if rec.seconds.len() <= second {
        rec.seconds.resize_with(second + 1, SecondRec::default);
    }
    let s = &mut rec.seconds[second];
    *s.by_status.entry(key).or_default() += 1;
    let _ = s
        .hist
        .get_or_insert_with(histogram)
        .record(corrected.max(1));
    rec.check("answer is 2xx (or an expected 429)", expected);
    if ok {
        rec.check("2xx body is {\"ok\":true}", a.body_ok);
    }
    if a.status == 429 || a.status == 503 {
        rec.check("429/503 carries Retry-After", a.retry_after.is_some());
    }
    match item.stream {
        Stream::Quiet(_) => {
            rec.quiet.0 += u64::from(ok);
            rec.quiet.1 += 1;
        }
        Stream::Flood => {
            rec.flood.0 += u64::from(a.status == 429);
            rec.flood.1 += 1;
        }
        Stream::Mixed => {}
    }
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

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn trend(h: &Histogram<u64>) -> BTreeMap<String, f64> {
    if h.is_empty() {
        return BTreeMap::new();
    }
    BTreeMap::from([
        ("avg".into(), h.mean() / 1000.0),
        ("min".into(), ms(h.min())),
        ("med".into(), ms(h.value_at_quantile(0.5))),
        ("max".into(), ms(h.max())),
        ("p(90)".into(), ms(h.value_at_quantile(0.90))),
        ("p(95)".into(), ms(h.value_at_quantile(0.95))),
        ("p(99)".into(), ms(h.value_at_quantile(0.99))),
    ])
}

fn rate(passes: u64, total: u64) -> BTreeMap<String, f64> {
    BTreeMap::from([
        (
            "rate".into(),
            if total == 0 {
                0.0
            } else {
                passes as f64 / total as f64
            },
        ),
        ("passes".into(), passes as f64),
        ("fails".into(), (total - passes) as f64),
    ])
}

#[allow(clippy::too_many_arguments)]
fn build_summary(
    state: &State,
    target: &str,
    started_at: chrono::DateTime<chrono::Utc>,
    plan_arrivals: u64,
    samples: Vec<(u32, Sample)>,
    environment: BTreeMap<String, String>,
    bots: Vec<String>,
    goose_report: Option<String>,
) -> Summary {
    let rec = state.rec.lock().expect("not poisoned");
    let start = state.start.get().copied().unwrap_or_else(Instant::now);
    let duration_s = rec
        .last_answer
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let total = rec.requests.total;
    let mut metrics = BTreeMap::new();
    metrics.insert(
        "http_reqs".into(),
        BTreeMap::from([
            ("count".into(), total as f64),
            ("rate".into(), total as f64 / duration_s.max(1e-9)),
        ]),
    );
    metrics.insert("http_req_duration".into(), trend(&rec.corrected));
    metrics.insert("http_req_duration_raw".into(), trend(&rec.raw));
    metrics.insert("http_req_failed".into(), rate(rec.failed, total));
    metrics.insert("http_req_limited".into(), rate(rec.limited, total));
    metrics.insert(
        "dropped_iterations".into(),
        BTreeMap::from([
            ("count".into(), rec.dropped as f64),
            ("rate".into(), rec.dropped as f64 / duration_s.max(1e-9)),
        ]),
    );
    let (passes, fails) = rec
        .checks
        .values()
        .fold((0, 0), |(p, f), (cp, cf)| (p + cp, f + cf));
    metrics.insert("checks".into(), rate(passes, passes + fails));
    if rec.quiet.1 > 0 {
        metrics.insert("flood_quiet_ok".into(), rate(rec.quiet.0, rec.quiet.1));
    }
    if rec.flood.1 > 0 {
        metrics.insert("flood_limited".into(), rate(rec.flood.0, rec.flood.1));
    }
    let lock_samples: Vec<u64> = samples.iter().filter_map(|(_, s)| s.lock_waits).collect();
    let waits_seen = samples
        .iter()
        .filter_map(|(_, s)| s.lock_waits_seen)
        .max()
        .unwrap_or(0);
    if !lock_samples.is_empty() {
        metrics.insert(
            "db_lock_waits".into(),
            BTreeMap::from([
                ("count".into(), waits_seen as f64),
                (
                    "max".into(),
                    *lock_samples.iter().max().unwrap_or(&0) as f64,
                ),
            ]),
        );
    }
    if state.profile.watch_memory {
        if let Some(g) = rss_growth(&samples, "api") {
            metrics.insert(
                "api_rss_growth".into(),
                BTreeMap::from([("ratio".into(), g)]),
            );
        }
        let ok = rec.requests.answered_2xx();
        let redis: Vec<u64> = samples
            .iter()
            .filter_map(|(_, s)| s.redis_used_memory)
            .collect();
        if let (Some(first), Some(last)) = (redis.first(), redis.last())
            && ok > 0
        {
            metrics.insert(
                "redis_bytes_per_update".into(),
                BTreeMap::from([("value".into(), (*last as f64 - *first as f64) / ok as f64)]),
            );
        }
    }

    let seconds = rec.seconds.len().max(
        samples
            .iter()
            .map(|(t, _)| *t as usize + 1)
            .max()
            .unwrap_or(0),
    );
    let mut timeseries: Vec<Second> = (0..seconds)
        .map(|t| Second {
            t: t as u32,
            ..Default::default()
        })
        .collect();
    for (t, s) in rec.seconds.iter().enumerate() {
        timeseries[t].by_status = s.by_status.clone();
        if let Some(h) = &s.hist {
            timeseries[t].p50_ms = Some(ms(h.value_at_quantile(0.5)));
            timeseries[t].p95_ms = Some(ms(h.value_at_quantile(0.95)));
            timeseries[t].p99_ms = Some(ms(h.value_at_quantile(0.99)));
        }
    }
    for (t, s) in samples {
        let slot = &mut timeseries[t as usize];
        slot.queue_depth = s.queue_depth;
        slot.rss_bytes = s.rss_bytes;
        slot.redis_used_memory = s.redis_used_memory;
        slot.lock_waits = s.lock_waits;
    }
    Summary {
        tool: summary::TOOL.into(),
        format: summary::FORMAT,
        profile: state.profile.name.into(),
        target: target.into(),
        started_at: started_at.to_rfc3339(),
        duration_s,
        plan: Plan {
            shape: if state.retry_refused > 0 {
                format!(
                    "{}; refused updates re-sent after Retry-After, up to {} times",
                    state.profile.describe(),
                    state.retry_refused
                )
            } else {
                state.profile.describe()
            },
            arrivals: plan_arrivals,
            duration_s: state.profile.duration.as_secs_f64(),
            resend_share: state.profile.resend_share,
        },
        requests: rec.requests.clone(),
        metrics,
        checks: rec
            .checks
            .iter()
            .map(|(name, (p, f))| Check {
                name: (*name).into(),
                passes: *p,
                fails: *f,
            })
            .collect(),
        timeseries,
        ledger: Some("ledger.csv".into()),
        bots,
        goose_report,
        environment,
    }
}

/// (mean RSS over the last quarter / mean over the first quarter) - 1, after a warm-up of 60 s
/// or a quarter of the run, whichever is shorter.
fn rss_growth(samples: &[(u32, Sample)], name: &str) -> Option<f64> {
    let series: Vec<(u32, u64)> = samples
        .iter()
        .filter_map(|(t, s)| s.rss_bytes.get(name).map(|b| (*t, *b)))
        .collect();
    let end = series.last()?.0;
    let warm = 60.min(end / 4);
    let span = end.saturating_sub(warm);
    if span < 4 {
        return None;
    }
    let mean = |from: u32, to: u32| {
        let v: Vec<u64> = series
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, b)| *b)
            .collect();
        (!v.is_empty()).then(|| v.iter().sum::<u64>() as f64 / v.len() as f64)
    };
    let first = mean(warm, warm + span / 4)?;
    let last = mean(end - span / 4, end + 1)?;
    Some(last / first - 1.0)
}

fn environment() -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    if let Ok(h) = hostname::get() {
        env.insert("host".into(), h.to_string_lossy().into_owned());
    }
    env.insert(
        "cores".into(),
        std::thread::available_parallelism()
            .map(|n| n.get().to_string())
            .unwrap_or_default(),
    );
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        env.insert(
            "loadavg_at_start".into(),
            l.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        );
    }
    env.insert("sluice_load".into(), env!("CARGO_PKG_VERSION").into());
    env
}

/// Where a summary's ledger is (None when the run kept none).
pub fn ledger_path(summary_path: &Path, summary: &Summary) -> Option<PathBuf> {
    let dir = summary_path.parent().unwrap_or(Path::new("."));
    summary.ledger.as_ref().map(|l| dir.join(l))
}
