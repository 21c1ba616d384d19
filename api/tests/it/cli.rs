//! The `sluice-api` binary: config errors, migrations, and the bots commands.

use std::process::Output;

use sluice_testkit::{TestDb, admin_database_url, replace_db};
use tokio::process::Command;

/// Runs the `sluice-api` binary with `args` and only the given environment settings of ours.
pub(crate) async fn api(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-api"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("sluice-api runs")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn a_bad_setting_stops_with_one_line_naming_the_variable() {
    let cases = [
        (
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("DB_POOL_MAX_CONNECTIONS", "ten"),
            ],
            "DB_POOL_MAX_CONNECTIONS",
        ),
        (
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_ENQUEUE_TIMEOUT", "0s"),
            ],
            "SLUICE_ENQUEUE_TIMEOUT",
        ),
        (
            // A bare number: seconds or milliseconds? Refused, with the unit to add.
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_SHUTDOWN_GRACE", "30"),
            ],
            "SLUICE_SHUTDOWN_GRACE",
        ),
        (
            // The deprecated name, read in its old unit: still bounded, still named.
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_ENQUEUE_TIMEOUT_MS", "0"),
            ],
            "SLUICE_ENQUEUE_TIMEOUT_MS",
        ),
        (
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_API_ADDR", "nowhere"),
            ],
            "SLUICE_API_ADDR",
        ),
        (
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_LANE_RULES", "poll=urgent"),
            ],
            "SLUICE_LANE_RULES",
        ),
        (
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_DEDUP_TTL", "1h"),
            ],
            "SLUICE_DEDUP_TTL",
        ),
        (
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_ENQUEUE_MIN_REPLICAS", "-1"),
            ],
            "SLUICE_ENQUEUE_MIN_REPLICAS",
        ),
        (
            vec![
                ("DATABASE_URL", "postgres://x/y"),
                ("SLUICE_DEDUP_LANE_KEYS", "maybe"),
            ],
            "SLUICE_DEDUP_LANE_KEYS",
        ),
        (vec![], "DATABASE_URL"),
    ];
    for (env, var) in cases {
        let out = api(&[], &env).await;
        assert_eq!(out.status.code(), Some(2), "{var}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line for {var}: {err}"
        );
        assert!(err.contains(var), "{var} not named in: {err}");
    }
}

#[tokio::test]
async fn migrate_then_manage_bots() {
    // An empty database: `migrate` creates the schema.
    let db = TestDb::fresh().await.unwrap();
    let empty = format!("{}_empty", db.name);
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {empty}")))
        .execute(&db.pool)
        .await
        .unwrap();
    let url = replace_db(&admin_database_url(), &empty);
    let env = [("DATABASE_URL", url.as_str())];

    let out = api(&["migrate"], &env).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = api(
        &["bots", "add", "alpha", "--secret", "a-very_secret1"],
        &env,
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("added bot 'alpha'"));
    let out = api(&["bots", "add", "beta", "--secret", "not allowed!"], &env).await;
    assert!(!out.status.success());
    let out = api(&["bots", "list"], &env).await;
    let listed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        listed.contains("alpha") && listed.contains("1 bot(s)"),
        "{listed}"
    );
    // Only a hash is stored, never the secret itself.
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT secret_sha256 FROM bots WHERE name = 'alpha'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains("a-very_secret1"));
    let out = api(&["bots", "remove", "alpha"], &env).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = api(&["bots", "remove", "alpha"], &env).await;
    assert!(!out.status.success() && stderr(&out).contains("no bot named 'alpha'"));
    pool.close().await;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {empty} WITH (FORCE)"
    )))
    .execute(&db.pool)
    .await
    .unwrap();
    db.drop_db().await;
}
