//! Watching one drain: the workers started together, the row count polled every 0.5 s until
//! it reaches the backlog (or stalls for 30 s, or the bound passes, or a worker exits), and the
//! workers' CPU, RSS and `/metrics` read before they are stopped.

use std::{
    io::Write,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use crate::bench::drain::{host, procs::Proc, session::Bench};

/// Without progress for this long, a drain has stalled.
const STALL: Duration = Duration::from_secs(30);

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// Every update has its row.
    Done,
    /// A worker exited.
    Exited,
    /// No new row for 30 s.
    Stalled,
    /// BENCH_DRAIN_TIMEOUT_S passed.
    Timeout,
}

impl End {
    pub fn as_str(self) -> &'static str {
        match self {
            End::Done => "done",
            End::Exited => "exited",
            End::Stalled => "stalled",
            End::Timeout => "timeout",
        }
    }
}

pub struct Watched {
    pub end: End,
    /// Unix seconds when the workers were started.
    pub t0: f64,
    pub expositions: Vec<String>,
    pub worker_cpu_s: f64,
    pub redis_cpu_s: f64,
    pub rss_max_kib: u64,
    pub logs: Vec<PathBuf>,
}

pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Samples a process's RSS every second while it runs; the maximum, in KiB.
fn rss_sampler(pid: u32) -> (Arc<AtomicU64>, tokio::task::JoinHandle<()>) {
    let max = Arc::new(AtomicU64::new(0));
    let m = max.clone();
    let task = tokio::spawn(async move {
        loop {
            m.fetch_max(host::rss_kib(pid), Ordering::Relaxed);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    (max, task)
}

pub async fn drain(bench: &Bench, prefix: &str, label: &str, n: u32) -> anyhow::Result<Watched> {
    let r0 = bench.redis.cpu_s().await;
    let t0 = unix_now();
    let mut workers = Vec::new();
    for i in 0..n {
        let name = format!("worker-{label}-{i}");
        workers.push(bench.start_worker(&name, prefix, i as u16, &bench.args.redis_url)?);
    }
    let samplers: Vec<_> = workers.iter().map(|w| rss_sampler(w.pid())).collect();
    let end = poll(bench, label, &mut workers, t0).await?;
    tokio::time::sleep(Duration::from_secs(1)).await; // the last acknowledgements land
    let mut expositions = Vec::new();
    let mut worker_cpu_s = 0.0;
    for (i, w) in workers.iter().enumerate() {
        let file = format!("metrics-{label}-{i}.txt");
        expositions.push(
            bench
                .scrape(bench.worker_admin(i as u16), Some(&file))
                .await,
        );
        worker_cpu_s += host::proc_cpu_s(w.pid()).unwrap_or(0.0);
    }
    let redis_cpu_s = bench.redis.cpu_s().await - r0;
    let rss_max_kib = samplers
        .iter()
        .map(|(m, _)| m.load(Ordering::Relaxed))
        .max()
        .unwrap_or(0);
    for (_, task) in samplers {
        task.abort();
    }
    let logs = workers.iter().map(|w| w.log.clone()).collect();
    for w in workers {
        w.stop().await;
    }
    Ok(Watched {
        end,
        t0,
        expositions,
        worker_cpu_s,
        redis_cpu_s,
        rss_max_kib,
        logs,
    })
}

/// Polls the row count until the drain ends; `(seconds, rows)` lines in `drain-<label>.tsv`.
async fn poll(bench: &Bench, label: &str, workers: &mut [Proc], t0: f64) -> anyhow::Result<End> {
    let mut tsv = std::fs::File::create(bench.out.join(format!("drain-{label}.tsv")))?;
    let bound = Duration::from_secs(bench.args.drain_timeout_s);
    let started = Instant::now();
    let (mut last_n, mut last_change) = (None, Instant::now());
    loop {
        let n = bench
            .db()
            .count_rows(None)
            .await
            .ok()
            .or(last_n)
            .unwrap_or(0);
        writeln!(tsv, "{:.3} {n}", unix_now() - t0)?;
        if last_n != Some(n) {
            (last_n, last_change) = (Some(n), Instant::now());
        }
        if n >= bench.args.backlog {
            return Ok(End::Done);
        }
        if workers.iter_mut().any(|w| !w.is_running()) {
            return Ok(End::Exited);
        }
        if last_change.elapsed() > STALL {
            return Ok(End::Stalled);
        }
        if started.elapsed() > bound {
            return Ok(End::Timeout);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
