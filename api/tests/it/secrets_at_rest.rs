//! Secrets at rest, through the commands an operator runs: bot tokens stored only sealed (and
//! refused without a key), and the helpers the rotation and leak tests share. Every output is
//! searched for the secrets.

use std::process::Output;

use base64::{Engine, engine::general_purpose::STANDARD};
use sluice_api::bots::token_place;
use sluice_shared::sealed::{Key, Keyring};
use sluice_testkit::TestDb;
use tokio::{io::AsyncWriteExt, process::Command};

pub const TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";
pub const TOKEN2: &str = "123456789:BBHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw2";

/// A key made of one repeated byte, as its base64 setting.
pub fn key(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

/// Each secret as it could leak: itself, its base64 and its hex.
pub fn forms(secrets: &[&str]) -> Vec<String> {
    secrets
        .iter()
        .flat_map(|s| [s.to_string(), STANDARD.encode(s), hex::encode(s)])
        .collect()
}

/// Panics naming where a secret (in any form) showed up.
pub fn assert_no_secret(what: &str, text: &str, secrets: &[&str]) {
    for f in forms(secrets) {
        assert!(
            !text.contains(&f),
            "{what} holds a secret ({} bytes)",
            f.len()
        );
    }
}

/// Key settings that also hide the key itself (and its raw bytes as hex) from every output.
fn key_forms(byte: u8) -> [String; 2] {
    [key(byte), hex::encode([byte; 32])]
}

/// `sluice-api ARGS` with only the settings in `env` (and `stdin`); returns (ok, stdout, stderr).
pub async fn api(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice-api"));
    cmd.args(args);
    for var in [
        "SLUICE_SECRETS_KEY",
        "SLUICE_SECRETS_KEY_PREVIOUS",
        "SLUICE_BOT_TOKEN",
        "SLUICE_BOT_SECRET",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("sluice-api runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out: Output = child.wait_with_output().await.unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

pub async fn token_row(db: &TestDb, bot: &str) -> (i64, Option<Vec<u8>>) {
    sqlx::query_as("SELECT id, token_sealed FROM bots WHERE name = $1")
        .bind(bot)
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

pub fn ring(current: u8, previous: Option<u8>) -> Keyring {
    let k = |b: u8| Key::from_bytes([b; 32]);
    Keyring::new(Some(k(current)), previous.map(k)).unwrap()
}

#[tokio::test]
async fn bot_tokens_are_stored_only_sealed_and_refused_without_a_key() {
    let db = TestDb::fresh().await.unwrap();
    let url = db.url.as_str();
    let ka = key(1);
    let secrets = [TOKEN, TOKEN2, "whsec-TOPSECRET", &ka, &key_forms(1)[1]];
    let check = |what: &str, out: &(bool, String, String)| {
        assert_no_secret(&format!("{what}: stdout"), &out.1, &secrets);
        assert_no_secret(&format!("{what}: stderr"), &out.2, &secrets);
    };
    let add = [
        "bots",
        "add",
        "b1",
        "--secret",
        "whsec-TOPSECRET",
        "--token",
    ];

    let out = api(&[&add[..], &[TOKEN]].concat(), &[("DATABASE_URL", url)], "").await;
    check("no key", &out);
    assert!(
        !out.0 && out.2.contains("SLUICE_SECRETS_KEY is not set"),
        "{out:?}"
    );
    let bots: i64 = sqlx::query_scalar("SELECT count(*) FROM bots")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(bots, 0, "nothing is written when the token cannot be");

    let with_key = [("DATABASE_URL", url), ("SLUICE_SECRETS_KEY", ka.as_str())];
    let out = api(&[&add[..], &["12:short-TOPSECRET"]].concat(), &with_key, "").await;
    assert!(
        !out.0 && out.2.contains("a bot token looks like"),
        "{out:?}"
    );
    assert!(!out.2.contains("short-TOPSECRET"), "{}", out.2);

    // The token on stdin keeps it out of `ps`.
    let out = api(
        &[&add[..], &["-"]].concat(),
        &with_key,
        &format!("{TOKEN}\n"),
    )
    .await;
    check("add", &out);
    assert!(out.0, "{out:?}");
    let (id, sealed) = token_row(&db, "b1").await;
    let sealed = sealed.expect("a token is stored");
    assert_no_secret(
        "the stored token",
        &String::from_utf8_lossy(&sealed),
        &[TOKEN],
    );
    assert!(!sealed.windows(TOKEN.len()).any(|w| w == TOKEN.as_bytes()));
    assert_eq!(
        ring(1, None)
            .open(&sealed, token_place(id))
            .unwrap()
            .as_slice(),
        TOKEN.as_bytes()
    );
    // Bound to its row: it does not open as another bot's.
    assert!(ring(1, None).open(&sealed, token_place(id + 1)).is_err());

    let out = api(&["bots", "update", "b1", "--token", TOKEN2], &with_key, "").await;
    check("update", &out);
    assert!(out.0, "{out:?}");
    let (_, sealed) = token_row(&db, "b1").await;
    assert_eq!(
        ring(1, None)
            .open(&sealed.unwrap(), token_place(id))
            .unwrap()
            .as_slice(),
        TOKEN2.as_bytes()
    );
    let out = api(
        &["bots", "update", "b1", "--token", TOKEN],
        &[("DATABASE_URL", url)],
        "",
    )
    .await;
    check("update without a key", &out);
    assert!(
        !out.0 && out.2.contains("SLUICE_SECRETS_KEY is not set"),
        "{out:?}"
    );

    // A malformed key is named, never shown.
    let bad = [
        ("DATABASE_URL", url),
        ("SLUICE_SECRETS_KEY", "c2hvcnQtVE9QU0VDUkVU"),
    ];
    let out = api(&[&add[..], &[TOKEN]].concat(), &bad, "").await;
    assert!(
        !out.0
            && out
                .2
                .contains("SLUICE_SECRETS_KEY: not the base64 of 32 bytes"),
        "{out:?}"
    );
    assert!(!out.2.contains("c2hvcnQtVE9QU0VDUkVU"), "{}", out.2);

    // --help with every secret in the environment shows none of them.
    let env = [
        ("SLUICE_SECRETS_KEY", ka.as_str()),
        ("SLUICE_SECRETS_KEY_PREVIOUS", ka.as_str()),
        ("SLUICE_BOT_TOKEN", TOKEN),
        ("SLUICE_BOT_SECRET", "whsec-TOPSECRET"),
    ];
    for args in [
        &["bots", "add", "--help"][..],
        &["bots", "update", "--help"],
        &["secrets", "rotate", "--help"],
        &["serve", "--help"],
    ] {
        let out = api(args, &env, "").await;
        assert!(
            out.0 && out.1.contains("SLUICE_SECRETS_KEY"),
            "{args:?}: {out:?}"
        );
        check(&format!("{args:?}"), &out);
    }
    db.drop_db().await;
}
