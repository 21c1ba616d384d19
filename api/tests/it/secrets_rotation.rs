//! Secrets at rest across a key's life: clear-text source secrets sealed once the api starts
//! with a key (deliveries still verify), rotation from key A to key B through A+B, and a wrong
//! key named row by row by `secrets rotate`, with no secret in any output.

use sluice_api::{bots::token_place, signature::Scheme, sources::Source, sources::store::place};
use sluice_shared::sealed::Key;

use crate::{
    common::{TestApp, spawn_app},
    secrets_at_rest::{TOKEN, api, assert_no_secret, key, ring, token_row},
    sign::{accepted, add_source, github, post_hook},
};

type SealedPair = (Option<Vec<u8>>, Option<Vec<u8>>);

#[tokio::test]
async fn clear_text_secrets_are_sealed_once_a_key_is_set_and_rotate_to_a_new_key() {
    let app = spawn_app().await;
    let mut src = Source::new("gh", Scheme::Github, "gh-TOPSECRET-1".parse().unwrap());
    src.next_secret = Some("gh-TOPSECRET-2".parse().unwrap());
    add_source(&app, src).await; // no key yet: clear text, as before issue 16
    let url = app.db.url.clone();
    let (ka, kb, kc) = (key(1), key(2), key(3));
    let secrets = ["gh-TOPSECRET-1", "gh-TOPSECRET-2", TOKEN, &ka, &kb, &kc];

    // Started with a key: the legacy secrets are sealed, and deliveries still verify.
    let app = app.restart_with(&["--secrets-key", &ka]).await;
    let (id, clear, sealed): (i64, Option<String>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT id, secret, secret_sealed FROM sources WHERE name = 'gh'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(clear, None, "the clear-text column is emptied");
    let sealed = sealed.unwrap();
    assert_eq!(
        ring(1, None)
            .open(&sealed, place("secret", id))
            .unwrap()
            .as_slice(),
        b"gh-TOPSECRET-1"
    );
    assert!(verifies(&app, 1).await);
    let a = [
        ("DATABASE_URL", url.as_str()),
        ("SLUICE_SECRETS_KEY", ka.as_str()),
    ];
    let out = api(
        &["bots", "add", "b1", "--secret", "s1", "--token", TOKEN],
        &a,
        "",
    )
    .await;
    assert!(out.0, "{out:?}");
    // Idempotent: a second run under the same key finds nothing to do.
    // Sealed: two source secrets, the bot's token and its webhook secret (sent on by forwards).
    let out = api(&["secrets", "rotate"], &a, "").await;
    assert!(out.0 && out.1.contains("0 sealed from clear text, 0 re-encrypted under the current key, 4 already under it, 0 unreadable"), "{out:?}");

    // Rotation: the api first learns the new key with the old one as previous, ...
    let app = app
        .restart_with(&["--secrets-key", &kb, "--secrets-key-previous", &ka])
        .await;
    assert!(verifies(&app, 2).await);
    let ab = [
        ("DATABASE_URL", url.as_str()),
        ("SLUICE_SECRETS_KEY", kb.as_str()),
        ("SLUICE_SECRETS_KEY_PREVIOUS", ka.as_str()),
    ];
    let out = api(&["secrets", "rotate"], &ab, "").await;
    assert!(
        out.0
            && out.1.contains(
                "0 sealed from clear text, 4 re-encrypted under the current key, 0 already under it"
            ),
        "{out:?}"
    );
    for (what, text) in [("rotate stdout", &out.1), ("rotate stderr", &out.2)] {
        assert_no_secret(what, text, &secrets);
    }
    // ... every row is now under the new key alone, ...
    let b_only = ring(2, None);
    let rows: Vec<SealedPair> =
        sqlx::query_as("SELECT secret_sealed, next_secret_sealed FROM sources")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        b_only
            .open(rows[0].0.as_ref().unwrap(), place("secret", id))
            .unwrap()
            .as_slice(),
        b"gh-TOPSECRET-1"
    );
    assert_eq!(
        b_only
            .open(rows[0].1.as_ref().unwrap(), place("next_secret", id))
            .unwrap()
            .as_slice(),
        b"gh-TOPSECRET-2"
    );
    let (bot, token) = token_row(&app.db, "b1").await;
    assert_eq!(
        b_only
            .open(&token.unwrap(), token_place(bot))
            .unwrap()
            .as_slice(),
        TOKEN.as_bytes()
    );
    // ... and the previous key can go.
    let app = app.restart_with(&["--secrets-key", &kb]).await;
    assert!(verifies(&app, 3).await);

    // Listing opens the sources with the key in the environment.
    let b = [
        ("DATABASE_URL", url.as_str()),
        ("SLUICE_SECRETS_KEY", kb.as_str()),
    ];
    let out = api(&["sources", "list"], &b, "").await;
    assert!(
        out.0 && out.1.contains("gh\tscheme=github") && out.1.contains("1 source(s)"),
        "{out:?}"
    );

    // A wrong key: the rows it cannot open are named, their secrets are not shown.
    let c = [
        ("DATABASE_URL", url.as_str()),
        ("SLUICE_SECRETS_KEY", kc.as_str()),
    ];
    let out = api(&["sources", "list"], &c, "").await;
    assert!(out.0 && out.1.contains("0 source(s)"), "{out:?}");
    assert!(out.2.contains("1 more source(s) not shown"), "{out:?}");
    let out = api(&["secrets", "rotate"], &c, "").await;
    assert!(!out.0, "{out:?}");
    for row in [
        format!("sources 'gh' (id {id}) secret"),
        format!("sources 'gh' (id {id}) next_secret"),
        format!("bots 'b1' (id {bot}) token"),
    ] {
        assert!(out.2.contains(&row), "{row} in {}", out.2);
    }
    assert!(
        out.2.contains(&Key::from_bytes([2; 32]).id()),
        "names the key that sealed them: {}",
        out.2
    );
    assert_no_secret("wrong-key stderr", &out.2, &secrets);
    assert_no_secret("wrong-key stdout", &out.1, &secrets);
    // An api given the wrong key skips the source it cannot open (404), and keeps running.
    let app = app.restart_with(&["--secrets-key", &kc]).await;
    let body = r#"{"n":4}"#;
    let sig = github("gh-TOPSECRET-2", body.as_bytes());
    assert_eq!(post_hook(&app, "gh", &[sig], body).await.status(), 404);
    app.stop().await;
}

/// A delivery signed with the source's next secret is accepted.
async fn verifies(app: &TestApp, n: u32) -> bool {
    let body = format!(r#"{{"n":{n}}}"#);
    let sig = github("gh-TOPSECRET-2", body.as_bytes());
    accepted(post_hook(app, "gh", &[sig], body).await)
        .await
        .is_some()
}
