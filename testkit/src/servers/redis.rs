//! A private `redis-server`.

use std::{path::PathBuf, process::Stdio, time::Duration};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use super::path;
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
