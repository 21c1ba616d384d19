//! The console's bots and sources functions against a fresh, migrated Postgres database: what
//! they store is what the api's ingress checks (a bot secret's SHA-256, a source's sealed
//! signing secret), and what they list holds no secret. The webhook routes themselves are
//! driven in the api's suite (api/tests/it/console/bots.rs), which owns the ingress.

use sluice_console::{error::ConsoleError, service::bots as service};
use sluice_shared::{
    lanes::Lane,
    registry::{
        bots::secret_hash,
        sources::{manage, store},
    },
    sealed::{Key, Keyring, places},
    secret::Secret,
};
use sluice_testkit::TestDb;

const BOT_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw-TOPSECRET";

fn keys() -> Keyring {
    Keyring::new(Some(Key::from_bytes([7; 32])), None).unwrap()
}

/// The stored hash, and the sealed secret and token opened, of bot `name`.
async fn stored_bot(db: &TestDb, keys: &Keyring, name: &str) -> ([u8; 32], String, String) {
    let (id, hash, secret, token): (i64, Vec<u8>, Vec<u8>, Vec<u8>) = sqlx::query_as(
        "SELECT id, secret_sha256, secret_sealed, token_sealed FROM bots WHERE name = $1",
    )
    .bind(name)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    let open = |sealed: &[u8], place| {
        String::from_utf8(keys.open(sealed, place).unwrap().to_vec()).unwrap()
    };
    let hash = hash.try_into().unwrap();
    (
        hash,
        open(&secret, places::bot_secret(id)),
        open(&token, places::bot_token(id)),
    )
}

#[tokio::test]
async fn a_bots_secret_is_stored_as_the_ingress_checks_it_and_never_listed() {
    let db = TestDb::fresh().await.unwrap();
    let keys = keys();
    let token = Some(Secret::unchecked(BOT_TOKEN));
    let first = service::add_bot(&db.pool, &keys, "alpha", token)
        .await
        .unwrap();
    let (hash, sealed, token) = stored_bot(&db, &keys, "alpha").await;
    assert_eq!(hash, secret_hash(first.expose()));
    assert_eq!(
        (sealed.as_str(), token.as_str()),
        (first.expose(), BOT_TOKEN)
    );

    let listed = service::list_bots(&db.pool).await.unwrap();
    let json = serde_json::to_string(&listed).unwrap();
    assert!(
        !json.contains(first.expose()) && !json.contains("TOPSECRET"),
        "{json}"
    );
    assert!(listed[0].has_token);

    let second = service::rotate_bot(&db.pool, &keys, "alpha").await.unwrap();
    assert_ne!(first.expose(), second.expose());
    let (hash, sealed, _) = stored_bot(&db, &keys, "alpha").await;
    assert_eq!(hash, secret_hash(second.expose()));
    assert_eq!(sealed, second.expose());

    service::set_bot_limits(&db.pool, &keys, "alpha", Some((2.5, 7)))
        .await
        .unwrap();
    let bot = &service::list_bots(&db.pool).await.unwrap()[0];
    assert_eq!((bot.rate_per_sec, bot.burst), (Some(2.5), Some(7)));
    service::set_bot_limits(&db.pool, &keys, "alpha", None)
        .await
        .unwrap();
    let bot = &service::list_bots(&db.pool).await.unwrap()[0];
    assert_eq!((bot.rate_per_sec, bot.burst), (None, None));

    let again = service::add_bot(&db.pool, &keys, "alpha", None).await;
    assert!(matches!(again, Err(ConsoleError::Conflict(_))));
    let (hash, ..) = stored_bot(&db, &keys, "alpha").await;
    assert_eq!(
        hash,
        secret_hash(second.expose()),
        "a conflict keeps the secret"
    );

    service::remove_bot(&db.pool, "alpha").await.unwrap();
    assert!(service::list_bots(&db.pool).await.unwrap().is_empty());
    let gone = service::remove_bot(&db.pool, "alpha").await;
    assert!(matches!(gone, Err(ConsoleError::NotFound)));
}

#[tokio::test]
async fn a_sources_secret_is_sealed_replaced_whole_by_a_rotation_and_never_listed() {
    let db = TestDb::fresh().await.unwrap();
    let keys = keys();
    let first = service::add_source(&db.pool, &keys, "gh", "github", "low")
        .await
        .unwrap();
    let all = store::all(&db.pool, &keys).await.unwrap();
    assert_eq!(all[0].secret.expose(), first.expose());
    assert_eq!(all[0].lane, Lane::Low);
    let clear: Option<String> = sqlx::query_scalar("SELECT secret FROM sources")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(clear, None, "sealed under the key, not in clear text");

    let listed = service::list_sources(&db.pool, &keys).await.unwrap();
    let json = serde_json::to_string(&listed).unwrap();
    assert!(!json.contains(first.expose()), "{json}");

    // A rotation under way (a next secret, as `sources update --next-secret` sets) ends too.
    manage::update_sealed(&db.pool, &keys, "gh", |s| {
        s.next_secret = Some(Secret::unchecked("pending-next"));
        Ok(())
    })
    .await
    .unwrap();
    let second = service::rotate_source(&db.pool, &keys, "gh").await.unwrap();
    let all = store::all(&db.pool, &keys).await.unwrap();
    let accepted: Vec<&str> = all[0].secrets().map(Secret::expose).collect();
    assert_eq!(accepted, [second.expose()]);

    let bad = service::add_source(&db.pool, &keys, "x", "gitlab", "normal").await;
    assert!(matches!(bad, Err(ConsoleError::BadRequest(_))));
    let taken = service::add_source(&db.pool, &keys, "gh", "plain", "normal").await;
    assert!(matches!(taken, Err(ConsoleError::Conflict(_))));

    service::remove_source(&db.pool, "gh").await.unwrap();
    assert!(
        service::list_sources(&db.pool, &keys)
            .await
            .unwrap()
            .is_empty()
    );
    let gone = service::remove_source(&db.pool, "gh").await;
    assert!(matches!(gone, Err(ConsoleError::NotFound)));
}
