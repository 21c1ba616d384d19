//! A private Postgres cluster (initdb, pg_ctl).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};
use tokio::process::Command;

use super::{
    as_postgres_owner, is_root, path,
    tls::{TestPki, copy_into},
};
use crate::free_port;

/// A Postgres cluster of the test's own, e.g. with a small `max_connections`.
pub struct PgCluster {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    running: bool,
}

impl PgCluster {
    /// initdb + start, trust auth, listening on 127.0.0.1 only.
    pub async fn start(max_connections: u32) -> anyhow::Result<PgCluster> {
        Self::start_with(max_connections, None).await
    }

    /// [`start`](Self::start) with `ssl = on`, presenting the certificate `cert` of `pki` (see
    /// [`TestPki`]); TCP clients must use TLS (`hostssl` only), with trust auth for `postgres`
    /// and password auth for any other role.
    pub async fn start_tls(pki: &TestPki, cert: &str) -> anyhow::Result<PgCluster> {
        Self::start_with(20, Some((pki, cert))).await
    }

    /// Presents the certificate `cert` of `pki` from now on (a configuration reload).
    pub async fn use_cert(&mut self, pki: &TestPki, cert: &str) -> anyhow::Result<()> {
        let data = self.dir.join("data");
        std::fs::write(data.join("ssl.conf"), ssl_conf(pki, cert, &self.dir)?)?;
        as_postgres_owner(&self.dir).await?;
        run_pg(&self.bin.join("pg_ctl"), &["-D", path(&data), "reload"]).await
    }

    async fn start_with(
        max_connections: u32,
        tls: Option<(&TestPki, &str)>,
    ) -> anyhow::Result<PgCluster> {
        let bin = pg_bin_dir()?;
        let dir = std::env::temp_dir().join(format!("sluice-pg-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir)?;
        as_postgres_owner(&dir).await?;
        let data = dir.join("data");
        run_pg(
            &bin.join("initdb"),
            &[
                "-D",
                path(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )
        .await
        .context("initdb")?;
        let conf = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nmax_connections = {max_connections}\nfsync = off\nfull_page_writes = off\n",
            free_port(),
            path(&dir)
        );
        let port: u16 = conf
            .lines()
            .next()
            .and_then(|l| l.trim_start_matches("port = ").parse().ok())
            .unwrap_or(0);
        std::fs::write(data.join("postgresql.auto.conf"), conf)?;
        if let Some((pki, cert)) = tls {
            std::fs::write(data.join("ssl.conf"), ssl_conf(pki, cert, &dir)?)?;
            let mut main = std::fs::read_to_string(data.join("postgresql.conf"))?;
            main.push_str("\ninclude = 'ssl.conf'\n");
            std::fs::write(data.join("postgresql.conf"), main)?;
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all postgres 127.0.0.1/32 trust\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n",
            )?;
        }
        as_postgres_owner(&dir).await?;
        let mut pg = PgCluster {
            port,
            dir,
            bin,
            running: false,
        };
        pg.resume().await?;
        Ok(pg)
    }

    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the cluster again (after [`stop`](Self::stop)).
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        run_pg(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                path(&data),
                "-l",
                path(&log),
                "-w",
                "-t",
                "30",
                "start",
            ],
        )
        .await
        .context("pg_ctl start")?;
        self.running = true;
        Ok(())
    }

    /// Stops the cluster at once (`-m immediate`): clients see their connections drop.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        let data = self.dir.join("data");
        run_pg(
            &self.bin.join("pg_ctl"),
            &["-D", path(&data), "-m", "immediate", "-w", "stop"],
        )
        .await?;
        self.running = false;
        Ok(())
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.dir.join("data");
            let ctl = self.bin.join("pg_ctl");
            let mut cmd =
                std::process::Command::new(if is_root() { "runuser" } else { path(&ctl) });
            if is_root() {
                cmd.args(["-u", "postgres", "--", path(&ctl)]);
            }
            let _ = cmd
                .args(["-D", path(&data), "-m", "immediate", "-w", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `ssl` settings presenting `cert` of `pki`, its files copied into `dir`.
fn ssl_conf(pki: &TestPki, cert: &str, dir: &Path) -> anyhow::Result<String> {
    let crt = copy_into(pki, &format!("{cert}.pem"), dir)?;
    let key = copy_into(pki, &format!("{cert}.key"), dir)?;
    Ok(format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
        path(&crt),
        path(&key)
    ))
}

fn pg_bin_dir() -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql (apt-get install postgresql)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    dirs.sort();
    dirs.pop()
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

async fn run_pg(program: &Path, args: &[&str]) -> anyhow::Result<()> {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", path(program)]);
        c
    } else {
        Command::new(program)
    };
    let out = cmd.args(args).stdin(Stdio::null()).output().await?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
