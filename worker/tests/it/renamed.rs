//! The deprecated duration names (issue 13): the real `sluice-worker` still reads its old names in
//! their old unit with a warning each, and the table of deprecated names matches both binaries.

use std::time::Duration;

use clap::CommandFactory;
use serde_json::Value;
use sluice_testkit::{TestDb, prefix, redis_url, settings, wait_until};

use crate::common::spawn_worker_logged;

#[tokio::test]
async fn every_deprecated_worker_name_is_read_in_its_old_unit_and_warned_about() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let old = [
        ("SLUICE_ORPHAN_TIMEOUT_S", "5", "orphan_timeout", "5s"),
        ("SLUICE_SHUTDOWN_GRACE_S", "12", "shutdown_grace", "12s"),
        ("SLUICE_RETRY_BASE_MS", "200", "retry_base", "200ms"),
        ("SLUICE_RETRY_MAX_MS", "4000", "retry_max", "4s"),
        (
            "DB_POOL_ACQUIRE_TIMEOUT_MS",
            "700",
            "db_acquire_timeout",
            "700ms",
        ),
        // Kept its name; a bare number was seconds.
        ("SLUICE_POLL_INTERVAL", "1", "poll_interval", "1s"),
    ];
    let mut env: Vec<_> = old.iter().map(|(k, v, _, _)| (*k, *v)).collect();
    env.push(("SLUICE_LOG_FORMAT", "json"));
    let (_worker, log) = spawn_worker_logged(&db.url, &redis, &prefix, &env);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let logged = wait_until(Duration::from_secs(30), || async {
        read().contains("\"duration settings\"")
    })
    .await;
    let stderr = read();
    assert!(logged, "no duration settings logged: {stderr}");
    let line: Value = stderr
        .lines()
        .find(|l| l.contains("\"duration settings\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .unwrap();
    for (var, _, name, want) in old {
        assert_eq!(
            line[name].as_str(),
            Some(want),
            "{var} not in force: {line}"
        );
        let warned = stderr
            .lines()
            .filter(|l| l.starts_with("warning: ") && l.contains(var))
            .count();
        assert_eq!(warned, 1, "one warning naming {var}: {stderr}");
    }
    assert!(
        stderr.contains("set SLUICE_RETRY_MAX=4000ms instead"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(&log);
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}

#[test]
fn the_deprecated_names_table_matches_both_binaries() {
    let own = settings::of(&sluice_worker::cli::Cli::command());
    // The api's settings from the real binary: the worker's tests do not link the api crate.
    let help = std::process::Command::new(sluice_testkit::binaries::api_binary())
        .args(["serve", "--help"])
        .output()
        .expect("sluice-api serve --help");
    let api = settings::in_help(&String::from_utf8_lossy(&help.stdout));
    assert!(api.iter().any(|n| n == "SLUICE_ENQUEUE_TIMEOUT"), "{api:?}");
    settings::check_deprecated_table(&own, Some(&api));
    assert!(own.iter().filter(|(_, d)| *d).count() >= 5);
}
