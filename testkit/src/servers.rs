//! Private Redis and Postgres servers a test can stop and start, to see sluice ride out outages.
//!
//! They listen on loopback ports of their own and die with the test (kill on drop).

use std::path::Path;

use anyhow::bail;
use tokio::process::Command;

mod pgbouncer;
mod postgres;
mod redis;
mod tls;

pub use pgbouncer::PgBouncer;
pub use postgres::PgCluster;
pub use redis::RedisServer;
pub use tls::{TestPki, TlsRedis};

pub(super) fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

pub(super) fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Postgres refuses to run as root: as root, hand the directory to the postgres user.
pub(super) async fn as_postgres_owner(dir: &Path) -> anyhow::Result<()> {
    if is_root() {
        let st = Command::new("chown")
            .args(["-R", "postgres:postgres", path(dir)])
            .status()
            .await?;
        if !st.success() {
            bail!("chown {} failed", dir.display());
        }
    }
    Ok(())
}
