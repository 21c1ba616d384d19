//! The real `sluice-api` binary for the end-to-end tests: the worker's tests never link the api
//! crate (`sluice_testkit::api_binary` builds it once), they run it as a deployment does, and
//! register bots and sources with its own commands (`sluice-api bots add`, `sources add`).

#![allow(dead_code)]

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use sluice_testkit::{api_binary, free_port};
use tokio::process::{Child, Command};

/// A running `sluice-api`.
pub struct ApiProc {
    child: Child,
    /// `http://127.0.0.1:<port>` of the webhook listener.
    pub base: String,
    /// `http://127.0.0.1:<port>` of the admin listener (`/healthz`, `/metrics`).
    pub admin: String,
}

/// Starts `sluice-api` on `db_url`/`redis_url` under `prefix`, with `env` on top of the test
/// defaults, and waits until it answers.
pub async fn spawn_api(
    db_url: &str,
    redis_url: &str,
    prefix: &str,
    env: &[(&str, &str)],
) -> ApiProc {
    let (port, admin_port) = (free_port(), free_port());
    let log = std::env::var("API_LOG").unwrap_or_else(|_| "warn".into());
    let mut cmd = Command::new(binary().await);
    cmd.env("DATABASE_URL", db_url)
        .env("REDIS_URL", redis_url)
        .env("SLUICE_QUEUE_PREFIX", prefix)
        .env("SLUICE_API_ADDR", format!("127.0.0.1:{port}"))
        .env("SLUICE_ADMIN_ADDR", format!("127.0.0.1:{admin_port}"))
        .env("SLUICE_AUTO_MIGRATE", "false")
        .env("RUST_LOG", log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("sluice-api starts");
    let api = ApiProc {
        child,
        base: format!("http://127.0.0.1:{port}"),
        admin: format!("http://127.0.0.1:{admin_port}"),
    };
    api.wait_up(Duration::from_secs(30)).await;
    api
}

impl ApiProc {
    /// Waits until the admin listener answers `/healthz`: by then the webhook listener is bound,
    /// and the registries are loaded if Postgres answered (`/readyz` says whether they are).
    async fn wait_up(&self, within: Duration) {
        let url = format!("{}/healthz", self.admin);
        let until = Instant::now() + within;
        while Instant::now() < until {
            if let Ok(r) = reqwest::get(&url).await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sluice-api did not answer {url} within {within:?}");
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        match reqwest::get(format!("{}/metrics", self.admin)).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then waits up to `within` for the exit.
    pub async fn stop(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let pid = self.child.id()?.to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status().await;
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

/// The binary, built on first use off the runtime's threads (a build takes a while).
pub async fn binary() -> &'static std::path::Path {
    tokio::task::spawn_blocking(api_binary)
        .await
        .expect("building sluice-api")
}

/// `sluice-api ARGS` against the database `db_url`, secrets in `env`; panics unless it succeeds.
pub async fn api_cli(db_url: &str, args: &[&str], env: &[(&str, &str)]) {
    let out = Command::new(binary().await)
        .args(args)
        .env("DATABASE_URL", db_url)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .await
        .expect("sluice-api runs");
    assert!(
        out.status.success(),
        "sluice-api {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Registers bot `name` with `secret` (`sluice-api bots add`, the secret in the environment).
pub async fn add_bot(db_url: &str, name: &str, secret: &str) {
    api_cli(
        db_url,
        &["bots", "add", name],
        &[("SLUICE_BOT_SECRET", secret)],
    )
    .await;
}

/// Registers a signed-webhook source (`sluice-api sources add NAME --scheme SCHEME OPTIONS`).
pub async fn add_source(db_url: &str, name: &str, scheme: &str, secret: &str, options: &[&str]) {
    let mut args = vec!["sources", "add", name, "--scheme", scheme];
    args.extend_from_slice(options);
    api_cli(db_url, &args, &[("SLUICE_SOURCE_SECRET", secret)]).await;
}
