//! The admission settings and the bot limit commands of the `sluice-api` binary.

use std::process::Output;

use sluice_testkit::TestDb;

use crate::cli::{api, stderr};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[tokio::test]
async fn admission_bad_settings_stop_with_one_line_naming_the_variable() {
    let cases = [
        ("SLUICE_RATE_SCOPE", "cluster"),
        ("SLUICE_RATE_CHAT_PER_MIN", "0"),
        ("SLUICE_RATE_GLOBAL_BURST", "0"),
        ("SLUICE_POLICY_CHAT", "high=later"),
        ("SLUICE_MAX_DELAY", "soon"),
        ("SLUICE_SHED_DEPTH_LOW", "many"),
        // Valid alone, but the high lane would be shed before the normal one.
        ("SLUICE_SHED_DEPTH_HIGH", "10"),
    ];
    for (var, value) in cases {
        let out = api(&[], &[("DATABASE_URL", "postgres://x/y"), (var, value)]).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{var}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line for {var}: {err}"
        );
        assert!(err.contains(var), "{var} not named in: {err}");
    }
}

#[tokio::test]
async fn admission_bots_add_and_update_set_and_reset_a_bots_limits() {
    let db = TestDb::fresh().await.unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];
    let listed = || async { stdout(&api(&["bots", "list"], &env).await) };
    let ok = |out: Output| assert!(out.status.success(), "{}", stderr(&out));

    ok(api(
        &[
            "bots",
            "add",
            "alpha",
            "--secret",
            "s1",
            "--rate-per-sec",
            "5",
            "--burst",
            "10",
        ],
        &env,
    )
    .await);
    assert!(
        listed().await.contains("rate_per_sec=5\tburst=10"),
        "{}",
        listed().await
    );
    ok(api(&["bots", "update", "alpha", "--burst", "3"], &env).await);
    assert!(
        listed().await.contains("rate_per_sec=5\tburst=3"),
        "{}",
        listed().await
    );
    // Re-adding with a new secret keeps the limits it does not mention.
    ok(api(&["bots", "add", "alpha", "--secret", "s2"], &env).await);
    assert!(
        listed().await.contains("rate_per_sec=5\tburst=3"),
        "{}",
        listed().await
    );
    ok(api(&["bots", "update", "alpha", "--default-limits"], &env).await);
    assert!(
        listed()
            .await
            .contains("rate_per_sec=default\tburst=default"),
        "{}",
        listed().await
    );
    ok(api(
        &[
            "bots",
            "update",
            "alpha",
            "--secret",
            "s3",
            "--rate-per-sec",
            "0.5",
        ],
        &env,
    )
    .await);
    assert!(
        listed().await.contains("rate_per_sec=0.5\tburst=default"),
        "{}",
        listed().await
    );

    let out = api(&["bots", "update", "ghost", "--burst", "1"], &env).await;
    assert!(!out.status.success() && stderr(&out).contains("no bot named 'ghost'"));
    let out = api(&["bots", "update", "alpha"], &env).await;
    assert!(!out.status.success() && stderr(&out).contains("nothing to change"));
    let out = api(&["bots", "update", "alpha", "--burst", "0"], &env).await;
    assert!(!out.status.success());
    let out = api(&["bots", "update", "alpha", "--rate-per-sec", "-1"], &env).await;
    assert!(!out.status.success());
    db.drop_db().await;
}
