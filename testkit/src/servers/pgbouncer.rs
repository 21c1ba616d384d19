//! A private PgBouncer in front of a Postgres.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use super::{as_postgres_owner, is_root, path};
use crate::{free_port, wait_until};

/// Debian's PgBouncer in front of a Postgres, in transaction pooling mode.
pub struct PgBouncer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl PgBouncer {
    /// Starts PgBouncer on a free port, pooling `upstream_port` on 127.0.0.1 (trust auth).
    pub async fn start(upstream_port: u16, pool_size: u32) -> anyhow::Result<PgBouncer> {
        let dir = std::env::temp_dir().join(format!("sluice-pgbouncer-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir)?;
        let port = free_port();
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n")?;
        let ini = format!(
            "[databases]\n* = host=127.0.0.1 port={upstream_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {users}\npool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 500\nignore_startup_parameters = extra_float_digits,options\nlogfile = {log}\n",
            users = path(&dir.join("users.txt")),
            log = path(&dir.join("pgbouncer.log")),
        );
        let ini_path = dir.join("pgbouncer.ini");
        std::fs::write(&ini_path, ini)?;
        as_postgres_owner(&dir).await?;
        let mut cmd = Command::new("pgbouncer");
        if is_root() {
            // PgBouncer refuses to run as root.
            cmd.args(["-u", "postgres"]);
        }
        let child = cmd
            .arg(path(&ini_path))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting pgbouncer (apt-get install pgbouncer)")?;
        let up = wait_until(Duration::from_secs(10), || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        if !up {
            bail!("pgbouncer on port {port} did not come up");
        }
        Ok(PgBouncer {
            port,
            dir,
            child: Some(child),
        })
    }

    /// `url` (a database URL on the upstream server) rewritten to go through the bouncer.
    pub fn url_for(&self, url: &str) -> String {
        let db = url.rsplit('/').next().unwrap_or("postgres");
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
