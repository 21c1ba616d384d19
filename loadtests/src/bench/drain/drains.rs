//! (b) and (c): N sluice-workers started together on a fresh backlog; how fast the rows land.
//!
//! The rates come from the rows themselves: `processed_at` is `now()` of the batch insert that
//! wrote the row, so whole = rows / (last `processed_at` - workers started) and middle 80 % =
//! 0.8 rows / (90th - 10th percentile of `processed_at`).

mod watch;

use serde::{Deserialize, Serialize};

use super::{
    backlog::{self, PushSummary},
    db::DrainStats,
    host::{MachineLoad, PhaseWindow},
    metrics,
    session::{Bench, say},
};

pub use watch::End;

/// What the workers' `/metrics` said at the end, summed over the workers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Jobs {
    pub done: u64,
    pub retried: u64,
    pub dead: u64,
    /// Jobs done beyond the row count: a job run twice.
    pub done_beyond_rows: i64,
}

/// One drain's figures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DrainFigures {
    pub workers: u32,
    pub backlog: u64,
    pub end: End,
    pub rows: u64,
    pub distinct_updates: u64,
    pub left_in_queue: u64,
    pub seconds: f64,
    pub first_row_after_s: f64,
    pub updates_per_s: f64,
    pub updates_per_s_middle_80: f64,
    pub jobs: Jobs,
    pub mean_insert_batch_rows: Option<f64>,
    pub worker_cpu_ms_per_1k: Option<f64>,
    pub redis_cpu_ms_per_1k: Option<f64>,
    pub worker_rss_max_mb: f64,
    pub worker_slow_statements: u64,
    pub push: PushSummary,
    pub machine: MachineLoad,
}

/// What a drain measured, before the arithmetic.
pub struct Readings {
    pub workers: u32,
    pub backlog: u64,
    pub end: End,
    /// Unix seconds when the workers were started.
    pub t0: f64,
    pub stats: DrainStats,
    pub left_in_queue: u64,
    /// The workers' `/metrics` texts.
    pub expositions: Vec<String>,
    pub worker_cpu_s: f64,
    pub redis_cpu_s: f64,
    pub rss_max_kib: u64,
    pub slow_statements: u64,
    pub push: PushSummary,
    pub machine: MachineLoad,
}

fn round_to(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

impl DrainFigures {
    pub fn of(r: Readings) -> DrainFigures {
        let s = r.stats;
        let total = |name: &str, filter: &str| -> f64 {
            r.expositions
                .iter()
                .map(|e| metrics::sum(e, name, filter))
                .sum()
        };
        let done = total("sluice_jobs_total", "outcome=\"done\"") as u64;
        let (bsum, bcount) = (
            total("sluice_db_batch_rows_sum", ""),
            total("sluice_db_batch_rows_count", ""),
        );
        let per_1k = |cpu_s: f64| (s.rows > 0).then(|| round_to(cpu_s * 1e6 / s.rows as f64, 1));
        DrainFigures {
            workers: r.workers,
            backlog: r.backlog,
            rows: s.rows,
            distinct_updates: s.distinct,
            left_in_queue: r.left_in_queue,
            seconds: round_to(s.last - r.t0, 2),
            first_row_after_s: round_to(s.first - r.t0, 2),
            updates_per_s: match r.end {
                End::Done => round_to(s.rows as f64 / (s.last - r.t0), 1),
                _ => 0.0,
            },
            updates_per_s_middle_80: if s.p90 > s.p10 {
                round_to(0.8 * s.rows as f64 / (s.p90 - s.p10), 1)
            } else {
                0.0
            },
            jobs: Jobs {
                done,
                retried: total("sluice_jobs_total", "outcome=\"retried\"") as u64,
                dead: total("sluice_jobs_total", "outcome=\"dead\"") as u64,
                done_beyond_rows: done as i64 - s.rows as i64,
            },
            mean_insert_batch_rows: (bcount > 0.0).then(|| round_to(bsum / bcount, 1)),
            worker_cpu_ms_per_1k: per_1k(r.worker_cpu_s),
            redis_cpu_ms_per_1k: per_1k(r.redis_cpu_s),
            worker_rss_max_mb: round_to(r.rss_max_kib as f64 / 1024.0, 1),
            worker_slow_statements: r.slow_statements,
            push: r.push,
            machine: r.machine,
            end: r.end,
        }
    }
}

/// Queues the backlog under a fresh prefix, starts `workers` workers and measures the drain.
pub async fn run(bench: &Bench, workers: u32, first_id: u64) -> anyhow::Result<DrainFigures> {
    let label = format!("w{workers}");
    let prefix = format!("{}-{label}", bench.prefix);
    let (a, db, redis) = (&bench.args, bench.db(), &bench.redis);
    db.truncate().await?;
    let push = backlog::queue(
        bench,
        &a.redis_url,
        &prefix,
        first_id,
        a.backlog,
        &a.lane_mix,
        &label,
    )
    .await?;
    let queued = redis.backlog(&prefix).await;
    anyhow::ensure!(
        queued == a.backlog,
        "({label}) queued {queued} updates, wanted {}",
        a.backlog
    );
    say(&format!(
        "({label}) backlog of {queued} updates ({}) queued at {} updates/s; starting {workers} sluice-worker(s)",
        serde_json::to_string(&push.lanes)?,
        push.updates_per_s
    ));
    let window = PhaseWindow::begin(bench.wait_quiet().await);
    let w = watch::drain(bench, &prefix, &label, workers).await?;
    let machine = window.end();
    let figures = DrainFigures::of(Readings {
        workers,
        backlog: a.backlog,
        end: w.end,
        t0: w.t0,
        stats: db.drain_stats().await?,
        left_in_queue: redis.backlog(&prefix).await,
        expositions: w.expositions,
        worker_cpu_s: w.worker_cpu_s,
        redis_cpu_s: w.redis_cpu_s,
        rss_max_kib: w.rss_max_kib,
        slow_statements: bench.slow_statements(&w.logs),
        push,
        machine,
    });
    redis.drop_keys(&format!("{prefix}:*")).await;
    say(&format!(
        "({label}) {}: {} rows in {} s: {} updates/s (middle 80 %: {}); jobs done {}, retried {}, dead {}; mean insert batch {} rows; machine {} % busy",
        figures.end.as_str(),
        figures.rows,
        figures.seconds,
        figures.updates_per_s,
        figures.updates_per_s_middle_80,
        figures.jobs.done,
        figures.jobs.retried,
        figures.jobs.dead,
        super::show::opt(figures.mean_insert_batch_rows),
        figures.machine.machine_busy_percent
    ));
    db.truncate().await?;
    Ok(figures)
}

#[cfg(test)]
mod tests;
