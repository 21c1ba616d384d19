//! What the `sluice-api` commands show: each `--help` lists only the flags the command uses,
//! every list command prints JSON with `--output json` (lines by default), and `healthcheck`
//! answers with its exit code.

use sluice_testkit::{TestDb, free_port};

use crate::{
    cli::{api, stderr},
    common::{spawn_app, spawn_app_with},
};

/// The servers' own settings: no one-shot command may list them.
const SERVER_ONLY: &[&str] = &[
    "--max-replicas",
    "--db-budget",
    "--auto-migrate",
    "--addr",
    "--admin-addr",
    "--enqueue-timeout",
    "--registry-refresh",
    "--log",
    "--log-format",
    "--header-read-timeout",
    "--rate-scope",
    "--shed-depth-high",
    "--dedup-ttl",
];
const REDIS: &[&str] = &["--redis-url", "--queue-prefix"];
const DATABASE: &[&str] = &["--database-url", "--db-pool-max-connections"];

/// The flags a `--help` text lists (each option's first word: `--name`).
fn flags(help: &str) -> Vec<String> {
    help.split_whitespace()
        .filter(|w| w.starts_with("--"))
        .map(|w| w.trim_end_matches([',', '.', ')']).to_owned())
        .collect()
}

async fn help_of(command: &[&str]) -> Vec<String> {
    let mut args = command.to_vec();
    args.push("--help");
    let out = api(&args, &[]).await;
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    flags(&String::from_utf8_lossy(&out.stdout))
}

#[tokio::test]
async fn each_commands_help_lists_only_the_flags_it_uses() {
    let db_commands: &[(&[&str], &[&str])] = &[
        (&["migrate"], &[]),
        (&["bots", "add"], &["--secret", "--rate-per-sec"]),
        (&["bots", "update"], &["--default-limits"]),
        (&["bots", "list"], &["--output"]),
        (&["bots", "remove"], &[]),
        (&["sources", "add"], &["--scheme", "--idempotency-pointer"]),
        (&["sources", "update"], &["--promote-next"]),
        (&["sources", "list"], &["--output"]),
        (&["sources", "remove"], &[]),
    ];
    for (command, own) in db_commands {
        let listed = help_of(command).await;
        for flag in DATABASE.iter().chain(own.iter()) {
            assert!(listed.iter().any(|f| f == flag), "{command:?} lacks {flag}");
        }
        for flag in SERVER_ONLY.iter().chain(REDIS) {
            assert!(
                !listed.iter().any(|f| f == flag),
                "{command:?} lists {flag}"
            );
        }
    }
    let listed = help_of(&["healthcheck"]).await;
    for flag in ["--admin-addr", "--ready", "--timeout"] {
        assert!(listed.iter().any(|f| f == flag), "healthcheck lacks {flag}");
    }
    let unrelated = SERVER_ONLY.iter().filter(|f| **f != "--admin-addr");
    for flag in unrelated.chain(REDIS).chain(DATABASE) {
        assert!(
            !listed.iter().any(|f| f == flag),
            "healthcheck lists {flag}"
        );
    }
    // The server still takes everything.
    let listed = help_of(&["serve"]).await;
    for flag in SERVER_ONLY.iter().chain(REDIS).chain(DATABASE) {
        assert!(listed.iter().any(|f| f == flag), "serve lacks {flag}");
    }
}

#[tokio::test]
async fn list_commands_print_json_with_output_json() {
    let db = TestDb::fresh().await.unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];
    let run = |args: &'static [&'static str]| async move {
        let out = api(args, &env).await;
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    run(&[
        "bots",
        "add",
        "alpha",
        "--secret",
        "TOPSECRET_a",
        "--burst",
        "7",
    ])
    .await;
    run(&["bots", "add", "beta", "--secret", "TOPSECRET_b"]).await;
    let out = api(
        &[
            "sources", "add", "gh", "--scheme", "github", "--lane", "low",
        ],
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("SLUICE_SOURCE_SECRET", "TOPSECRET_s"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));

    let bots: serde_json::Value =
        serde_json::from_str(&run(&["bots", "list", "--output", "json"]).await).unwrap();
    let names: Vec<&str> = bots
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(bots[0]["burst"], 7);
    assert!(bots[1]["burst"].is_null() && bots[1]["rate_per_sec"].is_null());
    assert!(bots[0]["created_at"].is_string());

    let sources = run(&["sources", "list", "--output", "json"]).await;
    assert!(!sources.contains("TOPSECRET"), "{sources}");
    let sources: serde_json::Value = serde_json::from_str(&sources).unwrap();
    assert_eq!(sources[0]["name"], "gh");
    assert_eq!(sources[0]["scheme"], "github");
    assert_eq!(sources[0]["lane"], "low");
    assert_eq!(sources[0]["next_secret_pending"], false);

    // Lines for people stay the default.
    let text = run(&["bots", "list"]).await;
    assert!(
        text.starts_with("alpha\t") && text.ends_with("2 bot(s)\n"),
        "{text}"
    );
    let text = run(&["sources", "list"]).await;
    assert!(
        text.starts_with("gh\tscheme=github") && text.contains("1 source(s)"),
        "{text}"
    );
    db.drop_db().await;
}

/// `sluice-api healthcheck` against the admin listener of `addr`: its exit code.
async fn healthcheck(addr: &str, ready: bool) -> Option<i32> {
    let args: &[&str] = if ready {
        &["healthcheck", "--ready"]
    } else {
        &["healthcheck"]
    };
    api(args, &[("SLUICE_ADMIN_ADDR", addr)])
        .await
        .status
        .code()
}

#[tokio::test]
async fn healthcheck_exits_0_when_healthy_and_1_when_not() {
    let app = spawn_app().await;
    let addr = app.admin_addr.to_string();
    assert_eq!(healthcheck(&addr, false).await, Some(0));
    assert_eq!(healthcheck(&addr, true).await, Some(0));
    // What a container sets: the listener on every address, asked on loopback.
    let any = format!("0.0.0.0:{}", app.admin_addr.port());
    assert_eq!(healthcheck(&any, true).await, Some(0));
    app.stop().await;

    let closed = format!("127.0.0.1:{}", free_port());
    let out = api(&["healthcheck"], &[("SLUICE_ADMIN_ADDR", &closed)]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("http://{closed}/healthz")),
        "{}",
        stderr(&out)
    );

    // Alive but not ready: its Redis is a closed port.
    let app = spawn_app_with(&format!("redis://127.0.0.1:{}", free_port()), &[]).await;
    let addr = app.admin_addr.to_string();
    assert_eq!(healthcheck(&addr, false).await, Some(0));
    let out = api(&["healthcheck", "--ready"], &[("SLUICE_ADMIN_ADDR", &addr)]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("503") && stderr(&out).contains("redis: unavailable"),
        "{}",
        stderr(&out)
    );
    app.stop().await;
}
