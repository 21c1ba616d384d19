//! CPU time and memory from /proc (Linux): a process's CPU seconds, the CPU seconds of this
//! program's finished children (wrk's own cost), the whole machine's busy time, a once-a-second
//! RSS sampler, and the wait for a quiet machine before a measured phase.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;

use super::say;

/// /proc reports CPU time in ticks of USER_HZ, which the kernel ABI fixes at 100 on every
/// architecture sluice runs on (x86_64, aarch64), whatever the kernel's own HZ.
const TICKS_PER_S: f64 = 100.0;

/// The CPU ticks in a `/proc/<pid>/stat` line: (utime + stime, cutime + cstime).
/// The command name may hold spaces and parentheses, so fields count from the last `)`.
pub fn stat_ticks(stat: &str) -> Option<(u64, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(1) // state
        .take(14)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // After the state: ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
    // stime cutime cstime.
    (f.len() == 14).then(|| (f[10] + f[11], f[12] + f[13]))
}

/// The machine's busy ticks in `/proc/stat`: user, nice, system, irq, softirq and steal of the
/// `cpu` line (idle and iowait are not busy).
pub fn busy_ticks(proc_stat: &str) -> Option<u64> {
    let line = proc_stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    (f.len() >= 8).then(|| f[0] + f[1] + f[2] + f[5] + f[6] + f[7])
}

fn read_stat(pid: &str) -> anyhow::Result<(u64, u64)> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    stat_ticks(&text).with_context(|| format!("{path} has no CPU times"))
}

/// CPU seconds (user + system) process `pid` has used so far.
pub fn process_cpu_s(pid: u32) -> anyhow::Result<f64> {
    Ok(read_stat(&pid.to_string())?.0 as f64 / TICKS_PER_S)
}

/// CPU seconds of this program's children that have ended and been waited for: around a wrk
/// run that nothing else ends in, the difference is wrk's own CPU time.
pub fn finished_children_cpu_s() -> anyhow::Result<f64> {
    Ok(read_stat("self")?.1 as f64 / TICKS_PER_S)
}

/// CPU seconds the whole machine (all cores) has been busy since boot.
pub fn machine_busy_s() -> anyhow::Result<f64> {
    let text = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    Ok(busy_ticks(&text).context("/proc/stat has no cpu line")? as f64 / TICKS_PER_S)
}

/// Cores this program may use (`nproc`).
pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Resident memory of `pid` in KiB, as `ps -o rss=` shows it.
pub fn rss_kib(pid: u32) -> Option<u64> {
    crate::sample::rss(pid).map(|b| b / 1024)
}

/// Samples a process's RSS once a second until stopped or the process ends; the samples go
/// to a file (KiB, one a line).
pub struct RssSampler {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Vec<u64>>,
    file: PathBuf,
}

impl RssSampler {
    pub fn start(pid: u32, file: &Path) -> RssSampler {
        let (stop, mut stopped) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            while let Some(kib) = rss_kib(pid) {
                samples.push(kib);
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            samples
        });
        RssSampler {
            stop,
            task,
            file: file.to_owned(),
        }
    }

    /// Stops sampling, writes the samples and returns the largest (0 when there was none).
    pub async fn stop(self) -> anyhow::Result<u64> {
        let _ = self.stop.send(());
        let samples = self.task.await.context("the RSS sampler panicked")?;
        let text: String = samples.iter().map(|k| format!("{k}\n")).collect();
        std::fs::write(&self.file, text)
            .with_context(|| format!("writing {}", self.file.display()))?;
        Ok(samples.into_iter().max().unwrap_or(0))
    }
}

/// Machine load above this share of all cores counts as busy.
const QUIET_BELOW_PCT: f64 = 15.0;

/// Waits (up to `max_wait`) until the machine is quiet: under 15 % busy over 2 s. Other
/// people's builds on a shared machine otherwise end up in the figures. Returns the last
/// busy percentage seen (the JSON's `busy_percent_before`).
pub async fn wait_quiet(max_wait: Duration) -> anyhow::Result<u64> {
    let rounds = (max_wait.as_secs() / 2).max(1);
    let mut pct = 0.0;
    for i in 1..=rounds {
        let m0 = machine_busy_s()?;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let m1 = machine_busy_s()?;
        pct = ((m1 - m0) / 2.0 / nproc() as f64 * 100.0).round();
        if pct < QUIET_BELOW_PCT {
            return Ok(pct as u64);
        }
        if i == 1 {
            say(format!(
                "waiting for the machine to be quiet (now {pct} % busy)"
            ));
        }
    }
    say(format!(
        "the machine stayed busy ({pct} %); measuring anyway (see other_cpu_s in the JSON)"
    ));
    Ok(pct as u64)
}
