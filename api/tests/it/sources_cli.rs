//! The `sluice-api sources` commands, run as the binary an operator runs.

use std::process::Output;

use sluice_testkit::TestDb;
use tokio::process::Command;

async fn api(args: &[&str], env: &[(&str, &str)]) -> Output {
    api_stdin(args, env, "").await
}

/// Runs `sluice-api` with `stdin` as its standard input.
async fn api_stdin(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    use tokio::io::AsyncWriteExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-api"));
    cmd.args(args)
        .env_remove("SLUICE_SOURCE_SECRET")
        .env_remove("SLUICE_SOURCE_NEXT_SECRET")
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("sluice-api runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs a command that must succeed; returns stdout and stderr, which must never hold a secret.
async fn ok(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let out = api(args, env).await;
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?}: {stderr}");
    assert!(!stdout.contains("TOPSECRET") && !stderr.contains("TOPSECRET"));
    (stdout, stderr)
}

async fn fails(args: &[&str], env: &[(&str, &str)], why: &str) {
    let out = api(args, env).await;
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(
        stderr.contains(why),
        "{args:?}: expected '{why}' in: {stderr}"
    );
    assert!(!stderr.contains("TOPSECRET"));
}

#[tokio::test]
async fn sources_are_managed_from_the_command_line_and_secrets_never_printed() {
    let db = TestDb::fresh().await.unwrap();
    let env = [("DATABASE_URL", db.url.as_str())];
    let (out, _) = ok(
        &[
            "sources",
            "add",
            "shop",
            "--scheme",
            "stripe",
            "--secret",
            "whsec_TOPSECRET1",
            "--idempotency-pointer",
            "/id",
            "--kind-pointer",
            "/type",
            "--rate-key-pointer",
            "/data/object/customer",
            "--lane",
            "high",
            "--tolerance",
            "120s",
        ],
        &env,
    )
    .await;
    assert!(
        out.contains("added source 'shop' (stripe): POST /webhook/hooks/shop"),
        "{out}"
    );
    // The secret from the environment keeps it out of `ps` and shell history.
    let with_secret = [env[0], ("SLUICE_SOURCE_SECRET", "gh-TOPSECRET2")];
    let add_gh = [
        "sources",
        "add",
        "gh",
        "--scheme",
        "github",
        "--idempotency-header",
        "X-GitHub-Delivery",
        "--kind-header",
        "X-GitHub-Event",
    ];
    let (_, note) = ok(&add_gh, &with_secret).await;
    assert!(
        note.contains("not covered by the github signature"),
        "{note}"
    );

    fails(&add_gh, &with_secret, "exists").await;
    // Refused `sources add NAME --scheme SCHEME --secret s …` variants, and what the error names.
    let refused: [(&str, &str, &[&str], &str); 4] = [
        ("x", "plain", &["--kind-pointer", "type"], "JSON pointer"),
        ("x", "gitlab", &[], "gitlab"),
        ("no spaces", "plain", &[], "source names"),
        (
            "x",
            "plain",
            &[
                "--idempotency-header",
                "X-Id",
                "--idempotency-pointer",
                "/id",
            ],
            "cannot be used with",
        ),
    ];
    for (name, scheme, extra, why) in refused {
        let mut args = vec!["sources", "add", name, "--scheme", scheme, "--secret", "s"];
        args.extend_from_slice(extra);
        fails(&args, &env, why).await;
    }

    let (list, _) = ok(&["sources", "list"], &env).await;
    assert!(list.contains("gh\tscheme=github\tlane=normal\tidempotency=header x-github-delivery\tkind=header x-github-event\trate_key=-"), "{list}");
    assert!(list.contains("shop\tscheme=stripe\tlane=high\tidempotency=pointer /id\tkind=pointer /type\trate_key=/data/object/customer\ttolerance=120s\tnext_secret=none"), "{list}");
    assert!(list.contains("2 source(s)"), "{list}");

    // Rotation: accept a next secret (read from stdin, out of `ps`), then promote it.
    let out = api_stdin(
        &["sources", "update", "shop", "--next-secret", "-"],
        &env,
        "whsec_TOPSECRET3\n",
    )
    .await;
    let (out, err) = text(&out);
    assert!(out.contains("2 secret(s) accepted"), "{out}{err}");
    assert!(
        ok(&["sources", "list"], &env)
            .await
            .0
            .contains("next_secret=pending")
    );
    let (out, _) = ok(&["sources", "update", "shop", "--promote-next"], &env).await;
    assert!(out.contains("1 secret(s) accepted"), "{out}");
    let stored: (String, Option<String>) =
        sqlx::query_as("SELECT secret, next_secret FROM sources WHERE name = 'shop'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(stored, ("whsec_TOPSECRET3".to_owned(), None));
    fails(
        &["sources", "update", "shop", "--promote-next"],
        &env,
        "no next secret",
    )
    .await;
    fails(
        &["sources", "update", "ghost", "--lane", "low"],
        &env,
        "no source named 'ghost'",
    )
    .await;

    // An empty value clears an option; other options are kept. A secret left in the
    // environment is not picked up by `update`.
    let leftover = [env[0], ("SLUICE_SOURCE_SECRET", "whsec_TOPSECRET9")];
    let secret = || async {
        sqlx::query_scalar::<_, String>("SELECT secret FROM sources WHERE name = 'shop'")
            .fetch_one(&db.pool)
            .await
            .unwrap()
    };
    ok(
        &["sources", "update", "shop", "--rate-key-pointer", ""],
        &leftover,
    )
    .await;
    assert_eq!(secret().await, "whsec_TOPSECRET3");
    let (list, _) = ok(&["sources", "list"], &env).await;
    assert!(list.contains("shop\tscheme=stripe\tlane=high\tidempotency=pointer /id\tkind=pointer /type\trate_key=-"), "{list}");

    ok(&["sources", "remove", "gh"], &env).await;
    fails(&["sources", "remove", "gh"], &env, "no source named 'gh'").await;
    assert!(
        ok(&["sources", "list"], &env)
            .await
            .0
            .contains("1 source(s)")
    );
    db.drop_db().await;
}
