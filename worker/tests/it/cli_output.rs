//! What the `sluice-worker` commands show: each `--help` lists only the flags the command uses,
//! `dlq list --output json` prints JSON (lines by default), and `healthcheck` answers with its
//! exit code.

use std::{process::Output, time::Duration};

use sluice_shared::dlq::{DeadLetter, DeadLetters};
use sluice_shared::lanes::Lane;
use sluice_testkit::{TestDb, free_port, prefix, redis_url, wait_until};
use tokio::process::Command;

use crate::common::{envelope, spawn_worker};

async fn worker(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-worker"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("sluice-worker runs")
}

/// The flags a `--help` text lists.
fn flags(help: &str) -> Vec<String> {
    help.split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.trim_end_matches([',', '.', ')']).to_owned())
        .collect()
}

async fn help_of(command: &[&str]) -> Vec<String> {
    let mut args = command.to_vec();
    args.push("--help");
    let out = worker(&args, &[]).await;
    assert!(out.status.success(), "{args:?}");
    flags(&String::from_utf8_lossy(&out.stdout))
}

/// The worker's own settings: `dlq` and `healthcheck` must not list them.
const RUN_ONLY: &[&str] = &[
    "--dedup-ttl",
    "--database-url",
    "--max-replicas",
    "--db-budget",
    "--auto-migrate",
    "--concurrency",
    "--handler",
    "--log",
    "--header-read-timeout",
];

#[tokio::test]
async fn each_commands_help_lists_only_the_flags_it_uses() {
    let commands: &[(&[&str], &[&str])] = &[
        (
            &["dlq", "list"],
            &["--redis-url", "--queue-prefix", "--lane", "--output"],
        ),
        (
            &["dlq", "replay"],
            &["--redis-url", "--queue-prefix", "--all"],
        ),
        (
            &["dlq", "purge"],
            &["--redis-url", "--queue-prefix", "--older-than"],
        ),
        (&["healthcheck"], &["--admin-addr", "--ready", "--timeout"]),
    ];
    for (command, own) in commands {
        let listed = help_of(command).await;
        for flag in *own {
            assert!(listed.iter().any(|f| f == flag), "{command:?} lacks {flag}");
        }
        let admin = (command[0] == "dlq").then_some("--admin-addr");
        for flag in RUN_ONLY.iter().copied().chain(admin) {
            assert!(
                !listed.iter().any(|f| f == flag),
                "{command:?} lists {flag}"
            );
        }
    }
    let healthcheck = help_of(&["healthcheck"]).await;
    assert!(!healthcheck.iter().any(|f| f == "--redis-url"));
    let run = help_of(&["run"]).await;
    for flag in RUN_ONLY.iter().chain(&["--admin-addr", "--redis-url"]) {
        assert!(run.iter().any(|f| f == flag), "run lacks {flag}");
    }
}

#[tokio::test]
async fn dlq_list_prints_json_with_output_json() {
    let (redis, prefix) = (redis_url(), prefix());
    let conn = sluice_shared::queue::connect(&redis, Duration::from_secs(5)).unwrap();
    let dead = DeadLetters::new(conn, &prefix);
    for (id, lane) in [(1, Lane::High), (2, Lane::Low), (3, Lane::Low)] {
        let letter = DeadLetter {
            id: format!("job-{id}"),
            reason: format!("reason {id}"),
            dead_at_ms: 1_764_000_000_000 + id,
            envelope: envelope("json_bot", id, lane),
        };
        dead.put(&letter).await.unwrap();
    }
    let env = [
        ("REDIS_URL", redis.as_str()),
        ("SLUICE_QUEUE_PREFIX", prefix.as_str()),
    ];
    let out = worker(&["dlq", "list", "--lane", "low", "--output", "json"], &env).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let letters = listing["letters"].as_array().unwrap();
    let ids: Vec<&str> = letters.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["job-3", "job-2"], "newest first, low lane only");
    assert_eq!(letters[0]["lane"], "low");
    assert_eq!(letters[0]["origin"], "json_bot/3");
    assert_eq!(letters[0]["reason"], "reason 3");
    assert!(
        letters[0]["dead_at"]
            .as_str()
            .unwrap()
            .starts_with("2025-11-24")
    );
    assert_eq!(
        listing["sizes"],
        serde_json::json!({"high": 1, "normal": 0, "low": 2})
    );

    let out = worker(&["dlq", "list"], &env).await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("job-3\tlow\t"), "{text}");
    assert!(text.contains("3 dead letter(s) shown"), "{text}");
    sluice_testkit::clear_prefix(&redis, &prefix).await;
}

#[tokio::test]
async fn healthcheck_exits_0_when_healthy_and_1_when_not() {
    let db = TestDb::fresh().await.unwrap();
    let (redis, prefix) = (redis_url(), prefix());
    let w = spawn_worker(&db.url, &redis, &prefix, &[]);
    let addr = format!("127.0.0.1:{}", w.admin_port);
    let check = |ready: bool| {
        let addr = addr.clone();
        async move {
            let args: &[&str] = if ready {
                &["healthcheck", "--ready"]
            } else {
                &["healthcheck"]
            };
            worker(args, &[("SLUICE_ADMIN_ADDR", &addr)])
                .await
                .status
                .code()
        }
    };
    let up = wait_until(Duration::from_secs(30), || async {
        check(true).await == Some(0)
    })
    .await;
    assert!(up, "the worker never answered healthcheck --ready");
    assert_eq!(check(false).await, Some(0));
    drop(w);
    let closed = format!("127.0.0.1:{}", free_port());
    let out = worker(
        &["healthcheck", "--timeout", "500ms"],
        &[("SLUICE_ADMIN_ADDR", &closed)],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("http://{closed}/healthz")), "{err}");
    sluice_testkit::clear_prefix(&redis, &prefix).await;
    db.drop_db().await;
}
