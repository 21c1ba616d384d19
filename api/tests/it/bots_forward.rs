//! `bots add|update --forward-url --forward-secret`, through the binary: the URL checked and
//! never printed past its origin, the webhook secret kept sealed only with a key (and forgotten
//! when replaced without one), `--forward-secret on` refused without it, and `secrets rotate`
//! re-sealing it under a new key.

use sluice_shared::sealed::places;
use sluice_testkit::TestDb;

use crate::secrets_at_rest::{api, assert_no_secret, key, ring};

const SECRET: &str = "hook_TOPSECRET_1";
const SECRET2: &str = "hook_TOPSECRET_2";

async fn forwarding(
    db: &TestDb,
    bot: &str,
) -> (i64, Option<String>, Option<Vec<u8>>, Option<bool>) {
    sqlx::query_as(
        "SELECT id, forward_url, secret_sealed, forward_secret FROM bots WHERE name = $1",
    )
    .bind(bot)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn forward_settings_are_checked_sealed_and_never_printed() {
    let db = TestDb::fresh().await.unwrap();
    let url = db.url.as_str();
    let (k1, k2) = (key(1), key(2));
    let plain = [("DATABASE_URL", url)];
    let keyed = [("DATABASE_URL", url), ("SLUICE_SECRETS_KEY", k1.as_str())];
    let hidden = [SECRET, SECRET2, "TOPSECRET", &k1, &k2];
    let check = |what: &str, out: &(bool, String, String)| {
        assert_no_secret(&format!("{what}: stdout"), &out.1, &hidden);
        assert_no_secret(&format!("{what}: stderr"), &out.2, &hidden);
    };

    let bad = ["bots", "add", "b1", "--secret", SECRET, "--forward-url"];
    let out = api(&[&bad[..], &["ftp://TOPSECRET@bot/x"]].concat(), &keyed, "").await;
    check("bad scheme", &out);
    assert!(
        !out.0
            && out
                .2
                .contains("--forward-url must be an http:// or https:// URL, not ftp://"),
        "{out:?}"
    );

    let hook = "https://user:TOPSECRET@bot.example:8443/hook/TOPSECRET?token=TOPSECRET";
    let out = api(&[&bad[..], &[hook]].concat(), &keyed, "").await;
    check("add", &out);
    assert!(out.0, "{out:?}");
    let (id, stored_url, sealed, send) = forwarding(&db, "b1").await;
    assert_eq!(stored_url.as_deref(), Some(hook));
    assert_eq!(send, None, "auto by default");
    let opened = ring(1, None)
        .open(&sealed.expect("sealed with a key"), places::bot_secret(id))
        .unwrap();
    assert_eq!(&opened[..], SECRET.as_bytes());

    let out = api(&["bots", "list"], &plain, "").await;
    check("list", &out);
    assert!(
        out.1
            .contains("forward_url=https://bot.example:8443/…\tforward_secret=on"),
        "{}",
        out.1
    );
    let out = api(&["bots", "list", "--output", "json"], &plain, "").await;
    check("list json", &out);
    let listed: serde_json::Value = serde_json::from_str(&out.1).unwrap();
    assert_eq!(listed[0]["forward_url"], "https://bot.example:8443/…");
    assert_eq!(listed[0]["forward_secret"], true);

    // A new secret without a key: only its hash is kept, and the old sealed one is forgotten.
    let update = ["bots", "update", "b1", "--secret", SECRET2];
    let out = api(&update, &plain, "").await;
    check("update without key", &out);
    assert!(out.0 && out.2.contains("stored as a hash only"), "{out:?}");
    assert_eq!(forwarding(&db, "b1").await.2, None);
    let on = ["bots", "update", "b1", "--forward-secret", "on"];
    let out = api(&on, &keyed, "").await;
    check("on without a sealed secret", &out);
    assert!(
        !out.0
            && out
                .2
                .contains("--forward-secret on needs the bot's secret stored encrypted"),
        "{out:?}"
    );

    // With a key again: sealed, `on`, then back to the default URL; `off` is shown as off.
    let out = api(
        &[&update[..], &["--forward-secret", "on"]].concat(),
        &keyed,
        "",
    )
    .await;
    check("update with key", &out);
    assert!(out.0, "{out:?}");
    let (_, _, sealed, send) = forwarding(&db, "b1").await;
    assert_eq!(send, Some(true));
    let out = api(
        &[
            "bots",
            "update",
            "b1",
            "--default-forward-url",
            "--forward-secret",
            "off",
        ],
        &plain,
        "",
    )
    .await;
    assert!(out.0, "{out:?}");
    let (_, stored_url, _, send) = forwarding(&db, "b1").await;
    assert_eq!((stored_url, send), (None, Some(false)));
    let out = api(&["bots", "list"], &plain, "").await;
    assert!(
        out.1.contains("forward_url=default\tforward_secret=off"),
        "{}",
        out.1
    );

    // `secrets rotate` re-seals the webhook secret under the new key.
    let rotating = [
        ("DATABASE_URL", url),
        ("SLUICE_SECRETS_KEY", k2.as_str()),
        ("SLUICE_SECRETS_KEY_PREVIOUS", k1.as_str()),
    ];
    let out = api(&["secrets", "rotate"], &rotating, "").await;
    check("rotate", &out);
    assert!(out.0 && out.1.contains("1 re-encrypted"), "{out:?}");
    let (_, _, resealed, _) = forwarding(&db, "b1").await;
    let resealed = resealed.unwrap();
    assert_ne!(Some(&resealed), sealed.as_ref());
    let opened = ring(2, None)
        .open(&resealed, places::bot_secret(id))
        .unwrap();
    assert_eq!(&opened[..], SECRET2.as_bytes());
    db.drop_db().await;
}
