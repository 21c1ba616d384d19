//! The deprecated duration names (issue 13) on the real `sluice-api` binary: still read in their
//! old unit, each with a warning naming the new name, and never above a new name that is set.

use std::{process::Stdio, time::Duration};

use serde_json::Value;
use sluice_testkit::{TestDb, prefix, redis_url};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

/// Starts `sluice-api` with `env` on a fresh database, reads its stderr up to the start-up log
/// of the durations in force, then stops it: (that line's fields, everything before it).
async fn durations_in_force(env: &[(&str, &str)]) -> (Value, String) {
    let db = TestDb::fresh().await.unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-api"));
    cmd.env("DATABASE_URL", &db.url)
        .env("REDIS_URL", redis_url())
        .env("SLUICE_QUEUE_PREFIX", prefix())
        .env("SLUICE_API_ADDR", "127.0.0.1:0")
        .env("SLUICE_ADMIN_ADDR", "127.0.0.1:0")
        .env("SLUICE_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sluice-api starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = String::new();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("\"duration settings\"") {
                return serde_json::from_str::<Value>(&line).unwrap();
            }
            before += &line;
            before.push('\n');
        }
        panic!("sluice-api exited without logging its durations: {before}")
    })
    .await
    .unwrap_or_else(|_| panic!("no duration settings logged within 30s: {before}"));
    child.kill().await.unwrap();
    db.drop_db().await;
    (found, before)
}

fn field<'a>(line: &'a Value, name: &str) -> &'a str {
    line[name]
        .as_str()
        .unwrap_or_else(|| panic!("{name} not in {line}"))
}

#[tokio::test]
async fn every_deprecated_api_name_is_read_in_its_old_unit_and_warned_about() {
    let old = [
        (
            "SLUICE_ENQUEUE_TIMEOUT_MS",
            "120",
            "enqueue_timeout",
            "120ms",
        ),
        (
            "SLUICE_RATE_REDIS_TIMEOUT_MS",
            "30",
            "rate_redis_timeout",
            "30ms",
        ),
        ("SLUICE_SHUTDOWN_GRACE_S", "7", "shutdown_grace", "7s"),
        ("SLUICE_MAX_DELAY_S", "90", "max_delay", "1m 30s"),
        ("SLUICE_SHED_RETRY_AFTER_S", "9", "shed_retry_after", "9s"),
        (
            "DB_POOL_ACQUIRE_TIMEOUT_MS",
            "1500",
            "db_acquire_timeout",
            "1s 500ms",
        ),
        // Kept its name; a bare number was seconds.
        ("SLUICE_REGISTRY_REFRESH", "3", "registry_refresh", "3s"),
    ];
    let env: Vec<_> = old.iter().map(|(k, v, _, _)| (*k, *v)).collect();
    let (line, stderr) = durations_in_force(&env).await;
    for (var, _, name, want) in old {
        assert_eq!(field(&line, name), want, "{var} not in force: {line}");
        let warned = stderr
            .lines()
            .filter(|l| l.starts_with("warning: ") && l.contains(var))
            .count();
        assert_eq!(warned, 1, "one warning naming {var}: {stderr}");
    }
    assert!(
        stderr.contains("set SLUICE_ENQUEUE_TIMEOUT=120ms instead"),
        "{stderr}"
    );
    assert!(
        stderr.contains("set SLUICE_REGISTRY_REFRESH=3s"),
        "{stderr}"
    );
}

#[tokio::test]
async fn with_both_names_set_the_new_one_wins_and_a_disagreement_is_said() {
    let (line, stderr) = durations_in_force(&[
        ("SLUICE_SHUTDOWN_GRACE_S", "10"),
        ("SLUICE_SHUTDOWN_GRACE", "20s"),
        ("SLUICE_ENQUEUE_TIMEOUT_MS", "300"),
        ("SLUICE_ENQUEUE_TIMEOUT", "300ms"),
    ])
    .await;
    assert_eq!(field(&line, "shutdown_grace"), "20s");
    assert_eq!(field(&line, "enqueue_timeout"), "300ms");
    assert!(
        stderr.contains(
            "warning: SLUICE_SHUTDOWN_GRACE_S=10 and SLUICE_SHUTDOWN_GRACE=20s disagree: \
             SLUICE_SHUTDOWN_GRACE wins and the deprecated SLUICE_SHUTDOWN_GRACE_S is ignored"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "warning: SLUICE_ENQUEUE_TIMEOUT_MS=300 and SLUICE_ENQUEUE_TIMEOUT=300ms are both set"
        ),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_new_names_alone_warn_about_nothing() {
    let (line, stderr) = durations_in_force(&[("SLUICE_SHUTDOWN_GRACE", "2s")]).await;
    assert_eq!(field(&line, "shutdown_grace"), "2s");
    assert_eq!(field(&line, "enqueue_timeout"), "250ms", "the default");
    assert!(!stderr.contains("warning: "), "{stderr}");
}

#[test]
fn the_deprecated_names_table_matches_the_api() {
    use clap::CommandFactory;
    let own = sluice_testkit::settings::of(&sluice_api::cli::Cli::command());
    sluice_testkit::settings::check_deprecated_table(&own, None);
}
