//! The machine under the benchmark, from /proc: CPU time of a process and of the whole machine,
//! the load average, and how busy the machine was around a phase (on a shared 2-core machine,
//! other people's builds end up in the figures, so each phase says how busy it was).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::show::say;

/// Clock ticks per second of /proc's CPU times.
fn clk_tck() -> f64 {
    use nix::unistd::{SysconfVar, sysconf};
    sysconf(SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

/// User + system ticks from a `/proc/<pid>/stat` line (fields 14 and 15; the command name in
/// parentheses may hold spaces).
pub fn parse_proc_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(") ")? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Busy ticks of the machine from `/proc/stat`'s `cpu` line: user, nice, system, irq, softirq,
/// steal (idle and iowait left out).
pub fn parse_machine_ticks(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    Some([0, 1, 2, 5, 6, 7].iter().filter_map(|&i| f.get(i)).sum())
}

/// CPU seconds a process has used so far.
pub fn proc_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(parse_proc_ticks(&stat)? as f64 / clk_tck())
}

/// CPU seconds the whole machine has been busy since boot.
pub fn machine_busy_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    parse_machine_ticks(&stat).unwrap_or(0) as f64 / clk_tck()
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> Vec<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect()
}

pub fn nproc() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u64)
}

/// Resident memory of a process in KiB (0 when it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    crate::sample::rss(pid).map_or(0, |b| b / 1024)
}

/// Percent of all cores busy between two readings of [`machine_busy_s`] `seconds` apart.
pub fn busy_percent(busy0: f64, busy1: f64, seconds: f64, cores: u64) -> i64 {
    ((busy1 - busy0) / seconds / cores as f64 * 100.0).round() as i64
}

/// Waits (up to `max_wait`) until the machine is less than 15 % busy over 2 s; returns how busy
/// it was at the last look.
pub async fn wait_quiet(max_wait: Duration) -> Option<i64> {
    let mut busy = None;
    for i in 0..max_wait.as_secs() / 2 {
        let m0 = machine_busy_s();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let pct = busy_percent(m0, machine_busy_s(), 2.0, nproc());
        busy = Some(pct);
        if pct < 15 {
            return busy;
        }
        if i == 0 {
            say(&format!(
                "waiting for the machine to be quiet (now {pct} % busy)"
            ));
        }
    }
    if let Some(pct) = busy {
        say(&format!(
            "the machine stayed busy ({pct} %); measuring anyway (load average {})",
            super::show::loads(&loadavg())
        ));
    }
    busy
}

/// How busy the machine was during one phase.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MachineLoad {
    pub machine_busy_percent: i64,
    pub busy_percent_before: Option<i64>,
    pub loadavg_before: Vec<f64>,
    pub loadavg_after: Vec<f64>,
}

/// The readings at a phase's start: `PhaseWindow::begin(quiet)` ... `.end()`.
pub struct PhaseWindow {
    busy0: f64,
    t0: Instant,
    load0: Vec<f64>,
    quiet: Option<i64>,
}

impl PhaseWindow {
    /// `quiet`: what [`wait_quiet`] saw just before.
    pub fn begin(quiet: Option<i64>) -> PhaseWindow {
        PhaseWindow {
            busy0: machine_busy_s(),
            t0: Instant::now(),
            load0: loadavg(),
            quiet,
        }
    }

    pub fn end(&self) -> MachineLoad {
        let secs = self.t0.elapsed().as_secs_f64().max(1e-3);
        MachineLoad {
            machine_busy_percent: busy_percent(self.busy0, machine_busy_s(), secs, nproc()),
            busy_percent_before: self.quiet,
            loadavg_before: self.load0.clone(),
            loadavg_after: loadavg(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_stat_lines() {
        let stat = "4242 (sluice worker) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(parse_proc_ticks(stat), Some(300));
        let machine = "cpu  100 5 50 1000 40 3 2 1 0 0\ncpu0 1 1 1 1 1 1 1 1 0 0\n";
        assert_eq!(parse_machine_ticks(machine), Some(100 + 5 + 50 + 3 + 2 + 1));
    }

    #[test]
    fn busy_percent_is_over_all_cores() {
        assert_eq!(busy_percent(10.0, 13.0, 2.0, 2), 75);
    }

    #[test]
    fn reads_this_process_and_machine() {
        assert!(proc_cpu_s(std::process::id()).is_some());
        assert!(machine_busy_s() > 0.0);
        assert_eq!(loadavg().len(), 3);
        assert!(rss_kib(std::process::id()) > 1024);
    }
}
