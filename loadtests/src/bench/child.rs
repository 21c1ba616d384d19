//! The processes a bench starts (servers, workers, a private redis-server): output to a log
//! file each, stopped with SIGTERM then SIGKILL, and killed by their guard if the bench ends
//! early (an error, Ctrl-C), so that nothing outlives it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use anyhow::Context as _;
use tokio::process::{Child, Command};

use super::wrk::last_lines;

/// One started process. Dropping it kills the process (SIGKILL); [`Started::stop`] asks first.
#[derive(Debug)]
pub struct Started {
    pub name: String,
    pub log: PathBuf,
    child: Child,
}

impl Started {
    /// Starts `cmd` with its stdout and stderr in `<log_dir>/<name>.log` and no stdin.
    pub fn spawn(name: &str, mut cmd: Command, log_dir: &Path) -> anyhow::Result<Started> {
        let log = log_dir.join(format!("{name}.log"));
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
        Ok(Started {
            name: name.to_owned(),
            log,
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Waits for it to exit by itself, up to `bound` (then kills it).
    pub async fn wait(mut self, bound: Duration) -> anyhow::Result<ExitStatus> {
        match tokio::time::timeout(bound, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => {
                let _ = self.child.kill().await;
                anyhow::bail!("{} still running after {} s", self.name, bound.as_secs())
            }
        }
    }

    /// The last `n` lines of its log, for an error message.
    pub fn tail(&self, n: usize) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        last_lines(&log, n)
    }

    /// Whether the process still runs (it has not exited, or exited but is not reaped yet).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The error for a process that exited while the bench needed it, with its log's tail.
    pub fn exited_error(&self, when: &str) -> anyhow::Error {
        anyhow::anyhow!(
            "{} exited {when} (log: {}):\n{}",
            self.name,
            self.log.display(),
            self.tail(20)
        )
    }

    /// SIGTERM, up to 10 s for the process to end (a worker finishes its in-flight jobs), then
    /// SIGKILL.
    pub async fn stop(mut self) {
        if !self.is_running() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }

    /// Waits until `addr` accepts connections (10 s at most).
    pub async fn wait_listening(&mut self, addr: SocketAddr) -> anyhow::Result<()> {
        for _ in 0..100 {
            if !self.is_running() {
                return Err(self.exited_error("at start-up"));
            }
            if port_open(addr).await {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!(
            "{} is not listening on {addr} after 10 s (log: {})",
            self.name,
            self.log.display()
        )
    }

    /// Waits until `http://<admin>/readyz` answers 200 (`limit` at most).
    pub async fn wait_ready(&mut self, admin: SocketAddr, limit: Duration) -> anyhow::Result<()> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("http://{admin}/readyz");
        let until = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < until {
            if !self.is_running() {
                return Err(self.exited_error("at start-up"));
            }
            if let Ok(r) = http.get(&url).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!(
            "{} not ready after {} s (log: {})",
            self.name,
            limit.as_secs(),
            self.log.display()
        )
    }
}

/// Whether something accepts TCP connections on `addr`.
pub async fn port_open(addr: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// A port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Runs `cmd` to its end and fails with its output when it fails (`what` names it).
pub async fn run_quiet(what: &str, mut cmd: Command) -> anyhow::Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("starting {what}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    anyhow::ensure!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        text.trim()
    );
    Ok(text)
}
