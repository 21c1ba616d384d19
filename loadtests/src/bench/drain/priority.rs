//! (d) Lane priority: one worker on a large low backlog while high updates (bot commands)
//! arrive through sluice-api at a steady rate: the high lane's queue wait, the low lane's
//! progress before and during.

mod post;

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use sluice_shared::lanes::Lane;

use super::{
    backlog,
    db::Waits,
    host::{MachineLoad, PhaseWindow},
    metrics::{self, WaitHistogram},
    mix::LaneMix,
    session::{Bench, say},
    show::opt,
};

const FIRST_LOW_ID: u64 = 800_000_001;
const FIRST_HIGH_ID: u64 = 900_000_001;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PriorityFigures {
    pub high: High,
    pub low: Low,
    pub worker_slow_statements: u64,
    pub machine: MachineLoad,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct High {
    pub posted: u64,
    pub rate_per_s: u64,
    pub posting_seconds: f64,
    /// Requests per HTTP status ("000": no answer).
    pub answers: BTreeMap<String, u64>,
    pub rows: u64,
    pub wait_ms_from_rows: RowWaits,
    pub wait_histogram: WaitHistogram,
}

/// `processed_at - received_at` of the high rows: an upper bound of received -> started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RowWaits {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
    pub note: String,
}

impl From<Waits> for RowWaits {
    fn from(w: Waits) -> RowWaits {
        RowWaits {
            p50: w.p50,
            p99: w.p99,
            max: w.max,
            note: "processed_at - received_at: an upper bound of received -> started".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Low {
    pub backlog: u64,
    pub rows_per_s_before: f64,
    pub rows_per_s_during: f64,
    pub queued_when_high_started: u64,
    pub queued_when_high_ended: u64,
    /// The low backlog ran out while the high updates arrived: the rate during is a lower bound.
    pub ran_out: bool,
    pub rows_done_at_end: u64,
}

/// Rows per second between two counts, to 0.1.
pub fn rate(rows0: u64, rows1: u64, seconds: f64) -> f64 {
    ((rows1 as f64 - rows0 as f64) / seconds * 10.0).round() / 10.0
}

/// Low rows so far, and when.
async fn low_rows(bench: &Bench) -> anyhow::Result<(u64, std::time::Instant)> {
    Ok((
        bench.db().count_rows(Some(Lane::Low.as_str())).await?,
        std::time::Instant::now(),
    ))
}

/// The low lane alone for 5 s (once its first rows are in, and 3 s more), then with the high
/// updates posted on top.
struct Window {
    before: f64,
    during: f64,
    queued_start: u64,
    queued_end: u64,
    posts: post::Posts,
}

async fn low_alone_then_high(bench: &Bench, prefix: &str, n_high: u64) -> anyhow::Result<Window> {
    for _ in 0..120 {
        if low_rows(bench).await?.0 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (low0, t1) = low_rows(bench).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (low1, t2) = low_rows(bench).await?;
    let queued_start = bench.redis.backlog(prefix).await;
    let posts = post::post_high(bench, n_high, bench.args.high_rate, FIRST_HIGH_ID).await?;
    let (low2, t3) = low_rows(bench).await?;
    Ok(Window {
        before: rate(low0, low1, (t2 - t1).as_secs_f64()),
        during: rate(low1, low2, (t3 - t2).as_secs_f64()),
        queued_start,
        queued_end: bench.redis.backlog(prefix).await,
        posts,
    })
}

/// Waits (up to 10 s) for the high updates' rows.
async fn wait_for_high_rows(bench: &Bench, n_high: u64) -> anyhow::Result<()> {
    for _ in 0..40 {
        if bench.db().count_rows(Some(Lane::High.as_str())).await? >= n_high {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(())
}

pub async fn run(bench: &Bench) -> anyhow::Result<PriorityFigures> {
    let a = &bench.args;
    let prefix = format!("{}-prio", bench.prefix);
    let n_high = a.high_rate * a.high_seconds;
    say(&format!(
        "(d) lane priority: {} low updates queued, one worker, high updates at {}/s for {}s through sluice-api",
        a.low_backlog, a.high_rate, a.high_seconds
    ));
    let db = bench.db();
    db.truncate().await?;
    let mix = LaneMix::only(Lane::Low);
    backlog::queue(
        bench,
        &a.redis_url,
        &prefix,
        FIRST_LOW_ID,
        a.low_backlog,
        &mix,
        "prio",
    )
    .await?;
    let api = bench.start_api(&prefix, &a.redis_url).await?;
    let window = PhaseWindow::begin(bench.wait_quiet().await);
    let worker = bench.start_worker("worker-prio", &prefix, 0, &a.redis_url)?;
    let w = low_alone_then_high(bench, &prefix, n_high).await?;
    wait_for_high_rows(bench, n_high).await?;
    let exposition = bench
        .scrape(bench.worker_admin(0), Some("metrics-prio.txt"))
        .await;
    let machine = window.end();
    let log = worker.log.clone();
    worker.stop().await;
    api.stop().await;
    let waits = db.high_waits().await?;
    let buckets = metrics::buckets(&exposition, "sluice_job_wait_seconds", "lane=\"high\"");
    let figures = PriorityFigures {
        high: High {
            posted: n_high,
            rate_per_s: a.high_rate,
            posting_seconds: w.posts.seconds,
            answers: w.posts.answers(),
            rows: waits.rows,
            wait_ms_from_rows: waits.into(),
            wait_histogram: WaitHistogram::of(buckets),
        },
        low: Low {
            backlog: a.low_backlog,
            rows_per_s_before: w.before,
            rows_per_s_during: w.during,
            queued_when_high_started: w.queued_start,
            queued_when_high_ended: w.queued_end,
            ran_out: w.queued_end == 0,
            rows_done_at_end: low_rows(bench).await?.0,
        },
        worker_slow_statements: bench.slow_statements(&[log]),
        machine,
    };
    bench.redis.drop_keys(&format!("{prefix}:*")).await;
    report(&figures);
    db.truncate().await?;
    Ok(figures)
}

fn report(f: &PriorityFigures) {
    let (h, l) = (&f.high, &f.low);
    say(&format!(
        "(d) high: {}/{} rows, wait p50 {} ms p99 {} ms max {} ms (histogram: p99 <= {} s, {} under 100 ms); low {} rows/s before, {} during",
        h.rows,
        h.posted,
        opt(h.wait_ms_from_rows.p50),
        opt(h.wait_ms_from_rows.p99),
        opt(h.wait_ms_from_rows.max),
        h.wait_histogram.p99_le_s,
        opt(h.wait_histogram.share_under_100ms),
        l.rows_per_s_before,
        l.rows_per_s_during
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_rows_per_second_to_a_tenth() {
        assert_eq!(rate(100, 9286, 5.0), 1837.2);
        assert_eq!(rate(500, 500, 2.9), 0.0);
    }

    #[test]
    fn row_waits_carry_their_note() {
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/drain/summary.json"))
                .unwrap();
        let want: RowWaits =
            serde_json::from_value(fixture["priority"]["high"]["wait_ms_from_rows"].clone())
                .unwrap();
        let w = Waits {
            rows: 30,
            p50: Some(32.4),
            p99: Some(51.8),
            max: Some(52.3),
        };
        assert_eq!(RowWaits::from(w), want);
    }
}
