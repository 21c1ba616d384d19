//! The judgement: database snapshots folded into the metrics, each threshold checked, delivery
//! verified against Postgres.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::input::{Input, Origin};
use super::ordered;
use super::slo::{Rule, Slo};
use super::{GateArgs, GateError};
use crate::dbsnap::{self, DbSnapshot};
use crate::delivery::{self, DeliveryReport};
use crate::ordering::{self, Ordering, OrderingReport};
use crate::summary::{self, MetricStats};

/// Metrics that come from `--db-before`/`--db-after` (or the run's own sampler).
const DB_METRICS: &[&str] = &["db_deadlocks", "db_lock_waits"];

pub use super::check::{CheckResult, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Pass,
    Fail,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Pass => 0,
            Verdict::Fail => 1,
        }
    }
}

/// Everything the gate found out about one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub profile: String,
    /// `sluice-load`, `k6 (metrics.X.values)` or `k6 (statistics on metrics.X)`.
    pub summary_kind: String,
    pub checks: Vec<CheckResult>,
    /// Delivery counts, when verified.
    pub delivery: Option<DeliveryReport>,
    /// The ordering check, when ordering was on and delivery verified.
    pub ordering: Option<OrderingReport>,
    pub verdict: Verdict,
}

pub async fn evaluate(args: &GateArgs) -> Result<Report, GateError> {
    let slo = Slo::load(&args.slo)?;
    let rules = slo.rules(&args.profile)?;
    let mut input = Input::read(&args.summary)?;
    if let Origin::Ours(s) = &input.origin
        && s.profile != args.profile
    {
        eprintln!(
            "gate: warning: the summary is of profile {}, judged against {}'s thresholds",
            s.profile, args.profile
        );
    }
    let mode = ordered::mode(args.ordering, &input.origin)?;
    let snapshots = read_snapshots(args)?;
    fold_db(&mut input.metrics, snapshots.as_ref());
    // The ordering check runs after delivery verification has waited for the drain.
    let (ordering_rules, rules): (Vec<&Rule>, Vec<&Rule>) =
        rules.iter().partition(|r| r.metric == ordered::METRIC);
    let mut checks: Vec<CheckResult> = rules
        .iter()
        .map(|r| check(r, &input.metrics, snapshots.is_some()))
        .collect();
    if checks.iter().all(|c| c.status == Status::Skip) && ordering_rules.is_empty() {
        return Err(GateError::NothingMeasured {
            profile: args.profile.clone(),
        });
    }
    let mut ordering_skip = "ordering off";
    let (delivery, ordering) = match delivery_plan(args, &input.origin) {
        Err(why) => {
            if mode != Ordering::Off {
                ordering_skip = "delivery not verified";
            }
            checks.push(CheckResult {
                metric: "delivery".into(),
                threshold: "verified".into(),
                status: Status::Skip,
                got: None,
                note: Some(format!("not verified: {why}")),
            });
            (None, None)
        }
        Ok((ledger, bots)) => {
            let (report, ordering) = verify(args, &ledger, bots, mode).await?;
            checks.extend(
                report
                    .must_be_zero()
                    .into_iter()
                    .map(|(name, n)| CheckResult {
                        metric: "delivery".into(),
                        threshold: format!("{name}==0"),
                        status: if n == 0 { Status::Pass } else { Status::Fail },
                        got: Some(n as f64),
                        note: None,
                    }),
            );
            (Some(report), ordering)
        }
    };
    checks.extend(ordered::checks(
        &ordering_rules,
        ordering.as_ref(),
        ordering_skip,
    ));
    if checks.iter().all(|c| c.status == Status::Skip) {
        return Err(GateError::NothingMeasured {
            profile: args.profile.clone(),
        });
    }
    let verdict = if checks.iter().any(|c| c.status == Status::Fail) {
        Verdict::Fail
    } else {
        Verdict::Pass
    };
    Ok(Report {
        profile: args.profile.clone(),
        summary_kind: input.origin.describe().into(),
        checks,
        delivery,
        ordering,
        verdict,
    })
}

fn check(rule: &Rule, metrics: &BTreeMap<String, MetricStats>, have_db: bool) -> CheckResult {
    let t = &rule.threshold;
    let mut result = CheckResult {
        metric: rule.metric.clone(),
        threshold: t.text.clone(),
        status: Status::Skip,
        got: None,
        note: None,
    };
    let Some(stats) = metrics.get(&rule.metric) else {
        result.note = Some(if DB_METRICS.contains(&&*rule.metric) && !have_db {
            "not measured: no --db-before/--db-after".into()
        } else {
            "not measured: not in the summary".into()
        });
        return result;
    };
    let got = t.stat_keys().iter().find_map(|k| stats.get(k).copied());
    match got {
        Some(v) if v.is_finite() => {
            result.got = Some(v);
            result.status = if t.holds(v) {
                Status::Pass
            } else {
                Status::Fail
            };
        }
        _ => result.note = Some(format!("not measured: no {} in {}", t.stat, rule.metric)),
    }
    result
}

fn read_snapshots(args: &GateArgs) -> Result<Option<(DbSnapshot, DbSnapshot)>, GateError> {
    match (&args.db_before, &args.db_after) {
        (None, None) => Ok(None),
        (Some(b), Some(a)) => {
            let (before, after) = (DbSnapshot::read(b)?, DbSnapshot::read(a)?);
            if before.database != after.database {
                return Err(GateError::Snapshots(format!(
                    "before is of database {}, after of {}",
                    before.database, after.database
                )));
            }
            if after.deadlocks < before.deadlocks {
                return Err(GateError::Snapshots(
                    "the deadlock counter went backwards (statistics reset between them?)".into(),
                ));
            }
            Ok(Some((before, after)))
        }
        _ => Err(GateError::Snapshots(
            "--db-before and --db-after go together".into(),
        )),
    }
}

/// `db_deadlocks.count` = after - before; `db_lock_waits.count` = the larger of the run's own
/// count of distinct waits and the waits seen in the after snapshot.
fn fold_db(
    metrics: &mut BTreeMap<String, MetricStats>,
    snapshots: Option<&(DbSnapshot, DbSnapshot)>,
) {
    let Some((before, after)) = snapshots else {
        return;
    };
    let deadlocks = metrics.entry("db_deadlocks".into()).or_default();
    deadlocks.insert("count".into(), (after.deadlocks - before.deadlocks) as f64);
    let waits = metrics.entry("db_lock_waits".into()).or_default();
    let sampled = waits.get("count").copied().unwrap_or(0.0);
    waits.insert("count".into(), sampled.max(after.lock_waits as f64));
}

/// The ledger and bots to verify, or why delivery is not verified.
fn delivery_plan(
    args: &GateArgs,
    origin: &Origin,
) -> Result<(std::path::PathBuf, Vec<String>), &'static str> {
    if args.no_verify {
        return Err("--no-verify");
    }
    match origin {
        Origin::Ours(s) => match &s.ledger {
            Some(name) => Ok((resolve(&args.summary, name), s.bots.clone())),
            None => Err("the run kept no ledger"),
        },
        _ => Err("a k6 summary has no ledger"),
    }
}

/// The ledger's name is relative to the summary.
fn resolve(summary: &Path, name: &str) -> std::path::PathBuf {
    summary.parent().unwrap_or(Path::new("")).join(name)
}

/// Delivery counts, then (ordering on) the ordering check on the same ledger and rows.
async fn verify(
    args: &GateArgs,
    ledger_path: &Path,
    bots: Vec<String>,
    mode: Ordering,
) -> Result<(DeliveryReport, Option<OrderingReport>), GateError> {
    let url = args
        .database_url
        .as_deref()
        .ok_or(GateError::NoDatabaseUrl)?;
    let ledger = summary::read_ledger(ledger_path).map_err(|e| GateError::Ledger {
        path: ledger_path.to_owned(),
        why: format!("{e:#}"),
    })?;
    let pool = dbsnap::connect(url).await?;
    let report = async {
        let delivery = delivery::verify(&pool, &ledger, &bots, args.drain_timeout).await?;
        let ordering = match mode {
            Ordering::Off => None,
            on => Some(ordering::rows::verify(&pool, &ledger, &bots, on).await?),
        };
        Ok::<_, sqlx::Error>((delivery, ordering))
    }
    .await;
    pool.close().await;
    Ok(report?)
}
