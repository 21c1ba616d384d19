//! `sluice-worker`: thin entry point — config, telemetry, build, run.

use std::process::ExitCode;

use anyhow::Context;
use sluice_shared::{config::parse_or_exit, shutdown, telemetry};
use sluice_worker::{config::WorkerConfig, startup::Worker};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> ExitCode {
    let cfg: WorkerConfig = parse_or_exit();
    telemetry::init(&cfg.telemetry);
    match run(cfg).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: WorkerConfig) -> anyhow::Result<()> {
    let admin = TcpListener::bind(cfg.admin_addr)
        .await
        .with_context(|| format!("binding SLUICE_ADMIN_ADDR {}", cfg.admin_addr))?;
    let worker = Worker::build(cfg).await?;
    tracing::info!(worker = %worker.id(), "sluice-worker starting");
    worker.run(admin, shutdown::signal()).await
}
