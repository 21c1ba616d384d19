//! Admission's counts across replicas against real Redis (a fresh key prefix per test): two
//! tallies, as two api replicas keep them, flush into one deployment's buckets, and the console
//! reads their sum.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use sluice_console::service::admission::{
    Admissions, BUCKET, LimitedBot, LimitedChat, Refused, TOP, Tally, WINDOW,
};
use sluice_shared::lanes::Lane;

async fn store() -> (Admissions, ConnectionManager, String) {
    let prefix = sluice_testkit::prefix();
    let client = redis::Client::open(sluice_testkit::redis_url()).unwrap();
    let conn = ConnectionManager::new(client).await.unwrap();
    (Admissions::new(conn.clone(), &prefix), conn, prefix)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn count(now: &sluice_console::service::admission::AdmissionNow, lane: &str, d: &str) -> u64 {
    let hit = now
        .decisions
        .iter()
        .find(|c| c.lane == lane && c.decision == d);
    hit.map_or(0, |c| c.count)
}

#[tokio::test]
async fn two_replicas_flushes_are_summed_and_the_most_limited_ranked() {
    let (store, _conn, prefix) = store().await;
    let (a, b) = (Tally::default(), Tally::default());
    for _ in 0..3 {
        a.record(Lane::Normal, "admitted", None);
        b.record(
            Lane::Normal,
            "rejected_chat",
            Some(Refused::Chat("bot-1", -100)),
        );
    }
    a.record(
        Lane::Normal,
        "rejected_chat",
        Some(Refused::Chat("bot-1", -100)),
    );
    a.record(
        Lane::Normal,
        "rejected_chat",
        Some(Refused::Chat("bot-2", 7)),
    );
    b.record(Lane::Low, "rejected_bot", Some(Refused::Bot("bot-2")));
    a.record(Lane::High, "delayed", None);
    // Twelve chats refused once each: only the top ten are listed.
    for chat in 0..12 {
        b.record(Lane::Low, "dropped", Some(Refused::Chat("bot-3", chat)));
    }
    store.flush(&a).await.unwrap();
    store.flush(&b).await.unwrap();
    // A second flush with nothing new adds nothing.
    store.flush(&a).await.unwrap();

    let got = store.recent().await.unwrap();
    assert_eq!(got.window_seconds, WINDOW.as_secs());
    assert_eq!(count(&got, "normal", "admitted"), 3);
    assert_eq!(count(&got, "normal", "rejected_chat"), 5, "{got:?}");
    assert_eq!(count(&got, "low", "rejected_bot"), 1);
    assert_eq!(count(&got, "low", "dropped"), 12);
    assert_eq!(count(&got, "high", "delayed"), 1);
    assert_eq!(got.decisions.len(), 5, "no zero rows: {got:?}");
    assert_eq!(
        got.limited_bots,
        vec![LimitedBot {
            bot: "bot-2".into(),
            refused: 1
        }]
    );
    assert_eq!(got.limited_chats.len(), TOP);
    assert_eq!(
        got.limited_chats[0],
        LimitedChat {
            bot: "bot-1".into(),
            chat: -100,
            refused: 4
        },
        "both replicas' refusals of one chat are summed, most refused first"
    );
    assert!(
        got.limited_chats
            .windows(2)
            .all(|w| w[0].refused >= w[1].refused),
        "{:?}",
        got.limited_chats
    );
    sluice_testkit::clear_prefix(&sluice_testkit::redis_url(), &prefix).await;
}

#[tokio::test]
async fn buckets_expire_and_an_old_one_is_not_summed() {
    let (store, mut conn, prefix) = store().await;
    let t = Tally::default();
    t.record(Lane::Normal, "rejected_bot", Some(Refused::Bot("b")));
    t.record(Lane::Normal, "rejected_chat", Some(Refused::Chat("b", 1)));
    store.flush(&t).await.unwrap();
    for key in store.keys(now()) {
        let ttl: i64 = redis::cmd("TTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let most = (WINDOW + 2 * BUCKET).as_secs() as i64;
        assert!(ttl > WINDOW.as_secs() as i64 && ttl <= most, "{key}: {ttl}");
    }
    // A bucket just past the window, as a replica wrote it then.
    let [old, old_bots, _] = store.keys(now() - WINDOW.as_secs() - BUCKET.as_secs());
    let _: () = redis::pipe()
        .cmd("HINCRBY")
        .arg(&old)
        .arg("normal:rejected_bot")
        .arg(50)
        .ignore()
        .cmd("ZINCRBY")
        .arg(&old_bots)
        .arg(50)
        .arg("old")
        .ignore()
        .query_async(&mut conn)
        .await
        .unwrap();
    let got = store.recent().await.unwrap();
    assert_eq!(count(&got, "normal", "rejected_bot"), 1);
    assert_eq!(
        got.limited_bots,
        vec![LimitedBot {
            bot: "b".into(),
            refused: 1
        }]
    );
    // The read leaves no scratch key behind.
    let left = sluice_testkit::scan(
        &mut redis::Client::open(sluice_testkit::redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap(),
        &format!("{prefix}:console:limited:read:*"),
    )
    .await;
    assert!(left.is_empty(), "{left:?}");
    sluice_testkit::clear_prefix(&sluice_testkit::redis_url(), &prefix).await;
}
