//! wrk as a child process: the command line the summaries show, one bounded run with its
//! output kept in a file, and (in `output`) what the benches read from that output.

mod output;

pub use output::{BenchLine, HumanSummary, Latencies, SocketErrors, WrkOutputError, latency_ms};

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;

use super::knobs::WrkDuration;

/// wrk's settings for a whole bench: threads, connections and the Lua script.
#[derive(Debug, Clone)]
pub struct Wrk {
    pub threads: u32,
    pub connections: u32,
    /// The request script; wrk runs in its folder, so the command line names only the file.
    pub script: PathBuf,
}

/// One wrk run: where, how long, and the environment its Lua script reads.
#[derive(Debug, Clone)]
pub struct WrkRun {
    pub url: String,
    pub duration: WrkDuration,
    /// `--latency`: the percentile table (and the Lua `done()` percentiles) are wanted.
    pub latency: bool,
    pub env: Vec<(&'static str, String)>,
}

/// wrk may overrun its `-d` while its last requests finish; past this grace it is stuck.
const GRACE: Duration = Duration::from_secs(30);

impl Wrk {
    fn script_name(&self) -> String {
        self.script
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.script.display().to_string())
    }

    /// The command as a person would type it in the script's folder (the summaries show it).
    pub fn command_line(&self, run: &WrkRun) -> String {
        let latency = if run.latency { " --latency" } else { "" };
        format!(
            "wrk -t{} -c{} -d{}{latency} -s {} {}",
            self.threads,
            self.connections,
            run.duration,
            self.script_name(),
            run.url
        )
    }

    /// Runs wrk to its end (at most its duration and [`GRACE`]), writes everything it printed
    /// to `out` and returns it. A non-zero exit, or no exit in time, is an error.
    pub async fn run(&self, run: &WrkRun, out: &Path) -> anyhow::Result<String> {
        let dir = self.script.parent().filter(|d| !d.as_os_str().is_empty());
        let mut cmd = tokio::process::Command::new("wrk");
        cmd.arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}", run.duration));
        if run.latency {
            cmd.arg("--latency");
        }
        cmd.args(["-s", &self.script_name(), &run.url])
            .current_dir(dir.unwrap_or(Path::new(".")))
            .envs(run.env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let limit = run.duration.as_duration() + GRACE;
        let output = tokio::time::timeout(limit, cmd.output())
            .await
            .with_context(|| format!("wrk did not end within {} s", limit.as_secs()))?
            .context("starting wrk (apt-get install wrk)")?;
        let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stderr));
        std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
        anyhow::ensure!(
            output.status.success(),
            "wrk {}: {}",
            output.status,
            last_lines(&text, 5)
        );
        Ok(text)
    }
}

/// The last `n` lines of `text`, for an error message.
pub(crate) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `wrk --version`'s first two words (`wrk debian/4.1.0-3+b2`), or empty when wrk is missing.
pub async fn version() -> String {
    let out = tokio::process::Command::new("wrk")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await;
    let Ok(out) = out else {
        return String::new();
    };
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    let first = text.lines().next().unwrap_or("");
    first
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}
