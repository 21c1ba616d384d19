//! Private Redis and Postgres servers a test can stop and start, to see sluice ride out outages.
//!
//! They listen on loopback ports of their own and die with the test (kill on drop).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::{free_port, wait_until};

/// A `redis-server` of the test's own: without persistence, or with an append-only file so its
/// data survives a restart (as a production Redis would), or a replica of another.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    aof_dir: Option<PathBuf>,
    /// The primary's port, for a replica.
    replica_of: Option<u16>,
    /// A replica's working directory: it writes the primary's snapshot there (dump.rdb), which
    /// must land neither in the crate's folder nor in another test's.
    scratch: Option<PathBuf>,
}

impl RedisServer {
    pub async fn start() -> anyhow::Result<RedisServer> {
        let mut s = RedisServer {
            port: free_port(),
            child: None,
            aof_dir: None,
            replica_of: None,
            scratch: None,
        };
        s.resume().await?;
        Ok(s)
    }

    /// A replica of `primary` (no persistence either), returned once its link is up and the
    /// first sync is done.
    pub async fn start_replica_of(primary: &RedisServer) -> anyhow::Result<RedisServer> {
        // Redis 7 waits 5 s for more replicas before a diskless first sync; a test has one.
        primary
            .query::<()>(
                redis::cmd("CONFIG")
                    .arg("SET")
                    .arg("repl-diskless-sync-delay")
                    .arg(0),
            )
            .await?;
        let dir = std::env::temp_dir().join(format!("sluice-replica-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir)?;
        let mut s = RedisServer {
            port: free_port(),
            child: None,
            aof_dir: None,
            replica_of: Some(primary.port),
            scratch: Some(dir),
        };
        s.resume().await?;
        // Linked is not enough: after a diskless sync the primary lists the replica as online
        // but streams writes to it only from its first ACK (up to a second later). Until a write
        // is acknowledged through WAIT, the replica would not count for sluice's WAIT either.
        let linked = wait_until(Duration::from_secs(20), || async {
            let mut probe = redis::pipe();
            probe
                .cmd("SET")
                .arg("sluice-testkit:replica-probe")
                .arg(1)
                .arg("PX")
                .arg(1000)
                .ignore()
                .cmd("WAIT")
                .arg(1)
                .arg(200);
            primary
                .query_pipe::<(u32,)>(&probe)
                .await
                .is_ok_and(|(n,)| n == 1)
        })
        .await;
        if !linked {
            bail!(
                "replica on port {} did not sync with {}",
                s.port,
                primary.port
            );
        }
        Ok(s)
    }

    /// The server process's id (to SIGSTOP it, say), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// `INFO replication`, as text (`role:`, `master_link_status:`, `connected_slaves:` ...).
    pub async fn replication(&self) -> anyhow::Result<String> {
        self.query(redis::cmd("INFO").arg("replication")).await
    }

    /// Runs a pipeline on the server.
    pub async fn query_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> anyhow::Result<T> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        Ok(pipe.query_async(&mut conn).await?)
    }

    /// Runs one command on the server.
    pub async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> anyhow::Result<T> {
        let client = redis::Client::open(self.url())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        Ok(cmd.query_async(&mut conn).await?)
    }

    /// A server that keeps its data across [`restart`](Self::restart) (AOF, fsync always).
    pub async fn start_persistent() -> anyhow::Result<RedisServer> {
        let dir = std::env::temp_dir().join(format!("sluice-redis-{}", ulid::Ulid::generate()));
        std::fs::create_dir_all(&dir)?;
        let mut s = RedisServer {
            port: free_port(),
            child: None,
            aof_dir: Some(dir),
            replica_of: None,
            scratch: None,
        };
        s.resume().await?;
        Ok(s)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port (after [`stop`](Self::stop)).
    pub async fn resume(&mut self) -> anyhow::Result<()> {
        let port = self.port.to_string();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port, "--bind", "127.0.0.1", "--save", ""]);
        match &self.aof_dir {
            Some(dir) => cmd.args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                path(dir),
            ]),
            None => cmd.args(["--appendonly", "no"]),
        };
        if let Some(primary) = self.replica_of {
            cmd.args(["--replicaof", "127.0.0.1", &primary.to_string()]);
        }
        if let Some(dir) = &self.scratch {
            cmd.args(["--dir", path(dir)]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server (apt-get install redis-server)")?;
        self.child = Some(child);
        let url = self.url();
        let up = wait_until(Duration::from_secs(10), || ping(url.clone())).await;
        if !up {
            bail!("redis-server on port {} did not come up", self.port);
        }
        Ok(())
    }

    /// Kills the server: connections drop, new ones are refused, unpersisted data is gone.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
    }

    /// Stops the server as an operator's restart would (SHUTDOWN, which persists), then starts
    /// it again on the same port.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if let Ok(client) = redis::Client::open(self.url())
            && let Ok(mut conn) = client.get_multiplexed_async_connection().await
        {
            let _: Result<(), _> = redis::cmd("SHUTDOWN").query_async(&mut conn).await;
        }
        if let Some(mut child) = self.child.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
            let _ = child.kill().await;
        }
        self.resume().await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        for dir in [&self.aof_dir, &self.scratch].into_iter().flatten() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn ping(url: String) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .is_ok()
}

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

fn path(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
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

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Postgres refuses to run as root: as root, hand the directory to the postgres user.
async fn as_postgres_owner(dir: &Path) -> anyhow::Result<()> {
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
