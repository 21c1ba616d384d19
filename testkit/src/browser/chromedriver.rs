//! Debian's `chromedriver` as a child process in a process group of its own, so that dropping it
//! ends Chromium too (chromedriver's children would otherwise outlive a failed test).

use std::{
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context, bail};

use crate::{free_port, wait_until};

/// Where Debian's `chromium-driver` installs it.
const DEBIAN_PATH: &str = "/usr/bin/chromedriver";

pub(super) struct Chromedriver {
    pub(super) port: u16,
    child: Child,
    /// chromedriver's log and Chromium's profile live here; removed on drop.
    pub(super) scratch: PathBuf,
}

impl Chromedriver {
    pub(super) async fn start() -> anyhow::Result<Chromedriver> {
        let exe = find()?;
        let scratch =
            std::env::temp_dir().join(format!("sluice-browser-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&scratch)?;
        let port = free_port();
        let child = Command::new(&exe)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                scratch.join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A group of its own: Drop kills the group, Chromium's processes included.
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let mut driver = Chromedriver {
            port,
            child,
            scratch,
        };
        let ready = wait_until(Duration::from_secs(20), || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        if !ready {
            let log = driver.log_tail();
            if let Ok(Some(status)) = driver.child.try_wait() {
                bail!("chromedriver exited with {status}:\n{log}");
            }
            bail!("chromedriver did not listen on port {port} within 20s:\n{log}");
        }
        Ok(driver)
    }

    pub(super) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The last lines of chromedriver's log, for an error message.
    pub(super) fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self.scratch.join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

fn find() -> anyhow::Result<PathBuf> {
    if Path::new(DEBIAN_PATH).exists() {
        return Ok(DEBIAN_PATH.into());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("chromedriver"))
        .find(|p| p.exists())
        .context(
            "no chromedriver: install Debian's chromium and chromium-driver (scripts/test does)",
        )
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group id is chromedriver's pid (process_group(0)). SIGKILL: a test that is being
        // torn down has no use for a graceful exit, and nothing may be left running.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}
