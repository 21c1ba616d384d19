//! `sluice-load gate`: judges a run's summary against `slo.toml`, verifies delivery, and says
//! PASS (exit 0), FAIL (exit 1) or that it cannot judge (exit 2).
//!
//! # Layout
//! - [`threshold`]: one k6-syntax threshold (`p(95)<300`), parsed and evaluated.
//! - [`slo`]: `slo.toml` per profile, and the k6 subset (`sluice-load slo k6`).
//! - [`input`]: our summary or k6's (both layouts) as metric -> statistic -> number.
//! - [`evaluate`]: database snapshots folded in, thresholds checked, delivery verified.
//! - [`ordered`]: the ordering check folded in as `ordering_violations` (crate::ordering).
//! - [`verdict`]: the lines printed and the JSON verdict written.

pub mod check;
pub mod evaluate;
pub mod input;
pub mod ordered;
pub mod slo;
pub mod threshold;
pub mod verdict;

use sluice_shared::config::parse_duration;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

pub use evaluate::{CheckResult, Report, Status, Verdict, evaluate};
pub use slo::{Slo, SloError};
pub use threshold::{Op, Threshold, ThresholdError};

/// Where `slo.toml` is when run from the repository root.
pub const DEFAULT_SLO: &str = "loadtests/slo.toml";

/// Arguments of `sluice-load gate`.
#[derive(Debug, Clone, clap::Args)]
pub struct GateArgs {
    /// The profile whose thresholds apply (a table of slo.toml).
    #[arg(long)]
    pub profile: String,
    /// The run's summary: `sluice-load run`'s summary.json or a k6 summary export.
    #[arg(long)]
    pub summary: PathBuf,
    /// `sluice-load db-snapshot` taken before the run (deadlocks are after minus before).
    #[arg(long, requires = "db_after")]
    pub db_before: Option<PathBuf>,
    /// `sluice-load db-snapshot` taken after the run.
    #[arg(long, requires = "db_before")]
    pub db_after: Option<PathBuf>,
    /// The thresholds file.
    #[arg(long, default_value = DEFAULT_SLO)]
    pub slo: PathBuf,
    /// The database sluice writes to, for delivery verification.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,
    /// Skip delivery verification (our summaries with a ledger are verified by default).
    #[arg(long)]
    pub no_verify: bool,
    /// How long to wait for acknowledged updates to reach Postgres (e.g. 120s, 2m, 500ms).
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub drain_timeout: Duration,
    /// Where to write the JSON verdict (default: verdict.json beside the summary).
    #[arg(long)]
    pub verdict: Option<PathBuf>,
    /// The per-chat ordering the target ran with, when the summary does not say (summaries of
    /// `sluice-load run` do); default SLUICE_ORDERING, else chat. `off` skips the ordering check.
    #[arg(long, value_enum)]
    pub ordering: Option<crate::ordering::Ordering>,
}

impl GateArgs {
    /// The arguments with every default, as the command line would give them.
    pub fn new(profile: &str, summary: impl Into<PathBuf>) -> GateArgs {
        GateArgs {
            profile: profile.to_owned(),
            summary: summary.into(),
            db_before: None,
            db_after: None,
            slo: DEFAULT_SLO.into(),
            database_url: None,
            no_verify: false,
            drain_timeout: Duration::from_secs(120),
            verdict: None,
            ordering: None,
        }
    }

    pub fn verdict_path(&self) -> PathBuf {
        self.verdict
            .clone()
            .unwrap_or_else(|| self.summary.with_file_name("verdict.json"))
    }
}

/// Why the gate cannot judge a run: every one of these exits 2.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Slo(#[from] SloError),
    #[error(transparent)]
    Summary(#[from] input::SummaryError),
    #[error("the summary's ordering '{0}' is none of chat, telegram, off")]
    Ordering(String),
    #[error(transparent)]
    Snapshot(#[from] crate::dbsnap::SnapshotError),
    #[error("database snapshots: {0}")]
    Snapshots(String),
    #[error("reading the ledger {path}: {why}")]
    Ledger { path: PathBuf, why: String },
    #[error(
        "delivery verification needs --database-url (or DATABASE_URL); pass --no-verify to skip it"
    )]
    NoDatabaseUrl,
    #[error("verifying delivery: {0}")]
    Database(#[from] sqlx::Error),
    #[error(
        "no threshold of profile {profile} could be measured from this summary (is it the right file?)"
    )]
    NothingMeasured { profile: String },
}

/// Runs the gate: prints one line per check and the verdict, writes the JSON verdict, and
/// returns 0 (PASS), 1 (FAIL) or 2 (unusable input).
pub async fn gate(args: GateArgs) -> ExitCode {
    let result = evaluate(&args).await;
    let code = verdict::exit_code(&result);
    print!("{}", verdict::render(&result));
    if let Err(e) = &result {
        eprintln!("gate: {e}");
    }
    let path = args.verdict_path();
    if let Err(e) = verdict::write(&path, &args, &result) {
        eprintln!("gate: writing the verdict {}: {e}", path.display());
    }
    ExitCode::from(code)
}

/// Arguments of `sluice-load slo`.
#[derive(Debug, Clone, clap::Args)]
pub struct SloArgs {
    #[command(subcommand)]
    pub command: SloCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum SloCommand {
    /// Print the thresholds k6 can check itself, per profile (loadtests/k6/thresholds.json).
    K6 {
        /// The thresholds file.
        #[arg(long, default_value = DEFAULT_SLO)]
        slo: PathBuf,
    },
}

/// `sluice-load slo k6`: prints [`k6_thresholds_json`]; exit 2 when slo.toml is unusable.
pub fn slo(args: SloArgs) -> ExitCode {
    match args.command {
        SloCommand::K6 { slo } => match k6_thresholds_json(&slo) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("slo: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// The k6 thresholds of every profile of `slo`: `{"steady": {"http_req_duration": [...]}}`.
pub fn k6_thresholds(slo: &Path) -> Result<serde_json::Value, SloError> {
    Ok(Slo::load(slo)?.k6())
}

/// [`k6_thresholds`] as the text of `loadtests/k6/thresholds.json` (pretty, newline-terminated).
pub fn k6_thresholds_json(slo: &Path) -> Result<String, SloError> {
    let value = k6_thresholds(slo)?;
    Ok(serde_json::to_string_pretty(&value).expect("JSON values always serialise") + "\n")
}
