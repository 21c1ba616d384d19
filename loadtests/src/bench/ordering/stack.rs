//! sluice-api and sluice-worker as processes on one database and queue prefix, for the ordering
//! bench and the load tests' end-to-end ordering check.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::process::Command;

use crate::bench::admission::UNREACHABLE_LIMITS;
use crate::bench::child::{Started, free_port};

/// What the processes share.
#[derive(Debug, Clone)]
pub struct Stack {
    pub api_bin: PathBuf,
    pub worker_bin: PathBuf,
    pub database_url: String,
    pub redis_url: String,
    pub prefix: String,
    /// Each process logs to `<log_dir>/<name>.log`.
    pub log_dir: PathBuf,
}

/// A started sluice-api and where its webhook listener is.
pub struct Api {
    pub process: Started,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl Stack {
    fn command(&self, bin: &PathBuf, admin: u16, env: &[(&str, String)]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", &self.redis_url)
            .env("SLUICE_QUEUE_PREFIX", &self.prefix)
            .env("SLUICE_ADMIN_ADDR", format!("127.0.0.1:{admin}"))
            .env("SLUICE_AUTO_MIGRATE", "false")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .envs(env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// sluice-api with limits no load here reaches and no shedding (every update is admitted),
    /// `env` on top; ready when this returns.
    pub async fn start_api(&self, name: &str, env: &[(&str, String)]) -> anyhow::Result<Api> {
        let (port, admin) = (free_port()?, free_port()?);
        let mut cmd = self.command(&self.api_bin, admin, env);
        cmd.envs(
            UNREACHABLE_LIMITS
                .into_iter()
                .filter(|(k, _)| *k != "RUST_LOG"),
        )
        .env("SLUICE_API_ADDR", format!("127.0.0.1:{port}"));
        let mut process = Started::spawn(name, cmd, &self.log_dir)?;
        process
            .wait_ready(([127, 0, 0, 1], admin).into(), Duration::from_secs(30))
            .await?;
        Ok(Api {
            process,
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    /// `sluice-worker run` with `env`, ready when this returns.
    pub async fn start_worker(
        &self,
        name: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<Started> {
        Ok(self.start_worker_at(name, env).await?.0)
    }

    /// [`Stack::start_worker`], and the address of its admin server (`/metrics`).
    pub async fn start_worker_at(
        &self,
        name: &str,
        env: &[(&str, String)],
    ) -> anyhow::Result<(Started, SocketAddr)> {
        let admin = free_port()?;
        let mut cmd = self.command(&self.worker_bin, admin, env);
        cmd.arg("run");
        let mut process = Started::spawn(name, cmd, &self.log_dir)?;
        let addr = SocketAddr::from(([127, 0, 0, 1], admin));
        process.wait_ready(addr, Duration::from_secs(30)).await?;
        Ok((process, addr))
    }
}
