//! The drain benchmark's child processes, as every bench starts them ([`crate::bench::child`]):
//! output in `<out>/<name>.log`, SIGTERM then SIGKILL, killed if the benchmark stops early.

use std::{net::SocketAddr, path::Path, time::Duration};

use anyhow::bail;
use tokio::process::Command;

use crate::bench::wrk::last_lines;

pub use crate::bench::child::Started as Proc;

/// Starts `cmd` as `name`, stdout and stderr to `<out>/<name>.log`, no stdin.
pub fn spawn(out: &Path, name: &str, cmd: Command) -> anyhow::Result<Proc> {
    Proc::spawn(name, cmd, out)
}

/// Runs `cmd` to the end with its output in `<out>/<name>.log`; an error (with the log's tail)
/// when it fails or outlives `bound`.
pub async fn run(out: &Path, name: &str, cmd: Command, bound: Duration) -> anyhow::Result<()> {
    let proc = spawn(out, name, cmd)?;
    let log = proc.log.clone();
    let status = proc.wait(bound).await?;
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        bail!("{name} failed ({status}): {}", last_lines(&text, 5));
    }
    Ok(())
}

/// Waits (up to 60 s) until `admin`'s `/readyz` answers 200; an error if the process exits.
pub async fn wait_ready(admin: SocketAddr, proc: &mut Proc) -> anyhow::Result<()> {
    proc.wait_ready(admin, Duration::from_secs(60)).await
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
        assert!(p.is_running());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pid = p.pid();
        let log = p.log.clone();
        p.stop().await;
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
        assert_eq!(
            last_lines(&std::fs::read_to_string(log).unwrap(), 1),
            "started"
        );
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo broken; exit 3"]);
        let err = run(&dir, "failing", failing, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
