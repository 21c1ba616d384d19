//! The benchmark's child processes: each started with its output in `<out>/<name>.log`, stopped
//! with SIGTERM (SIGKILL after 10 s), and killed if the benchmark stops early (kill on drop).

use std::{
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};
use nix::{sys::signal, unistd::Pid};
use tokio::process::{Child, Command};

/// A running child process.
pub struct Proc {
    pub name: String,
    pub pid: u32,
    pub log: PathBuf,
    child: Child,
}

/// Starts `cmd` as `name`, stdout and stderr to `<out>/<name>.log`, no stdin.
pub fn spawn(out: &Path, name: &str, mut cmd: Command) -> anyhow::Result<Proc> {
    let log = out.join(format!("{name}.log"));
    let file =
        std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let child = cmd
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let pid = child.id().context("a fresh child has a pid")?;
    Ok(Proc {
        name: name.to_owned(),
        pid,
        log,
        child,
    })
}

impl Proc {
    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for it to exit by itself, up to `bound` (then kills it).
    pub async fn wait(mut self, bound: Duration) -> anyhow::Result<ExitStatus> {
        match tokio::time::timeout(bound, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                self.child.kill().await.ok();
                bail!("{} still running after {} s", self.name, bound.as_secs())
            }
        }
    }

    /// SIGTERM, up to 10 s to exit, then SIGKILL.
    pub async fn stop(mut self) {
        if !self.alive() {
            return;
        }
        let _ = signal::kill(Pid::from_raw(self.pid as i32), signal::Signal::SIGTERM);
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await.ok();
        }
    }

    /// The last `n` lines of its log, for an error message.
    pub fn tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs `cmd` to the end with its output in `<out>/<name>.log`; an error (with the log's tail)
/// when it fails or outlives `bound`.
pub async fn run(out: &Path, name: &str, cmd: Command, bound: Duration) -> anyhow::Result<()> {
    let proc = spawn(out, name, cmd)?;
    let log = proc.log.clone();
    let status = proc.wait(bound).await?;
    if !status.success() {
        bail!("{name} failed ({status}): {}", tail(&log, 5));
    }
    Ok(())
}

/// Whether something listens on `addr`.
pub fn port_open(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

/// Waits (up to 60 s) until `admin`'s `/readyz` answers 200; an error if the process exits.
pub async fn wait_ready(
    http: &reqwest::Client,
    admin: SocketAddr,
    proc: &mut Proc,
) -> anyhow::Result<()> {
    let url = format!("http://{admin}/readyz");
    for _ in 0..120 {
        if !proc.alive() {
            bail!("{} exited at start-up: {}", proc.name, proc.tail(20));
        }
        let ready = http
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        if ready {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    bail!(
        "{} not ready after 60 s (log: {})",
        proc.name,
        proc.log.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stopped_child_is_gone_and_its_output_kept() {
        let dir = std::env::temp_dir().join(format!("drain-procs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo started; exec sleep 30"]);
        let mut p = spawn(&dir, "sleeper", cmd).unwrap();
        assert!(p.alive());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pid = p.pid;
        p.stop().await;
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        assert_eq!(tail(&dir.join("sleeper.log"), 1), "started");
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo broken; exit 3"]);
        let err = run(&dir, "failing", failing, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
