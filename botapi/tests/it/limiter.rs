//! The limiter script's arithmetic against Redis, on a clock the test sets (`now_us`): bookings
//! ahead per bot, a busy chat booking nothing, groups, the paid budget and the freeze.

use std::time::{Duration, Instant};

use sluice_botapi::{
    BotApiConfig, Chat,
    limiter::{Limiter, Plan, Turn},
};
use sluice_testkit::prefix;

use crate::common::redis;

const NOW: u64 = 1_000_000_000_000;
const MS: u64 = 1_000;
const LONG: Duration = Duration::from_secs(60);

/// A limiter booking exactly `args`' limits (no margin): these tests check its arithmetic.
async fn limiter(args: &[&str]) -> Limiter {
    let limits = BotApiConfig::from_args(["--botapi-margin=0"].iter().chain(args).copied())
        .unwrap()
        .limits();
    Limiter::new(redis().await, &prefix(), limits)
}

fn to(chat: i64) -> Plan {
    Plan {
        chat: Some(Chat::Id(chat)),
        paid: false,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test]
async fn a_bot_over_its_burst_books_the_next_slots_in_order() {
    let l = limiter(&["--botapi-bot-per-sec=10", "--botapi-bot-burst=2"]).await;
    let mut turns = Vec::new();
    for i in 0..5u64 {
        turns.push(l.turn("b", &to(i as i64), LONG, Some(NOW)).await.unwrap());
    }
    use Turn::Booked;
    assert_eq!(
        turns,
        [
            Booked(ms(0)),
            Booked(ms(0)),
            Booked(ms(100)),
            Booked(ms(200)),
            Booked(ms(300))
        ]
    );
    // 150 ms later: five cells put the cursor at +500 ms, less the 100 ms tolerance, so the
    // sixth is booked at +400 ms, 250 ms from then.
    let later = l
        .turn("b", &to(9), LONG, Some(NOW + 150 * MS))
        .await
        .unwrap();
    assert_eq!(later, Booked(ms(250)));
    // Another bot has its own bucket.
    assert_eq!(
        l.turn("other", &to(1), LONG, Some(NOW)).await.unwrap(),
        Booked(ms(0))
    );
}

#[tokio::test]
async fn a_busy_chat_books_nothing_so_the_bots_other_chats_go_on() {
    let l = limiter(&[
        "--botapi-bot-per-sec=10",
        "--botapi-bot-burst=2",
        "--botapi-chat-per-sec=1",
        "--botapi-chat-burst=1",
    ])
    .await;
    assert_eq!(
        l.turn("b", &to(7), LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
    // Chat 7's next turn is a second away: come back then, nothing booked.
    for _ in 0..3 {
        let t = l.turn("b", &to(7), LONG, Some(NOW)).await.unwrap();
        assert_eq!(t, Turn::Retry(ms(1000)));
    }
    // So the bot's second burst cell is still there for chat 8, and the third waits 100 ms.
    assert_eq!(
        l.turn("b", &to(8), LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
    assert_eq!(
        l.turn("b", &to(9), LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(100))
    );
    // Once chat 7 is free it books after the bot's queue.
    let t = l
        .turn("b", &to(7), LONG, Some(NOW + 1000 * MS))
        .await
        .unwrap();
    assert_eq!(t, Turn::Booked(ms(0)));
}

#[tokio::test]
async fn a_group_meets_its_own_limit_and_a_user_does_not() {
    let l = limiter(&[
        "--botapi-chat-per-sec=10",
        "--botapi-chat-burst=5",
        "--botapi-group-per-min=60",
        "--botapi-group-burst=1",
    ])
    .await;
    assert_eq!(
        l.turn("b", &to(-100), LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
    assert_eq!(
        l.turn("b", &to(-100), LONG, Some(NOW)).await.unwrap(),
        Turn::Retry(ms(1000))
    );
    let channel = Plan {
        chat: Some(Chat::parse("@news").unwrap()),
        paid: false,
    };
    assert_eq!(
        l.turn("b", &channel, LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
    assert_eq!(
        l.turn("b", &channel, LONG, Some(NOW)).await.unwrap(),
        Turn::Retry(ms(1000))
    );
    assert_eq!(
        l.turn("b", &to(100), LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
    assert_eq!(
        l.turn("b", &to(100), LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
}

#[tokio::test]
async fn paid_broadcasts_use_their_own_budget_and_waits_past_the_maximum_are_refused() {
    let l = limiter(&[
        "--botapi-bot-per-sec=1",
        "--botapi-bot-burst=1",
        "--botapi-paid-per-sec=100",
        "--botapi-paid-burst=1",
    ])
    .await;
    let bulk = Plan {
        chat: None,
        paid: false,
    };
    let paid = Plan {
        chat: None,
        paid: true,
    };
    assert_eq!(
        l.turn("b", &bulk, LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
    assert_eq!(
        l.turn("b", &paid, LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
    assert_eq!(
        l.turn("b", &paid, LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(10))
    );
    // The bot's next bulk slot is 1 s away: refused under a 500 ms maximum, and nothing booked.
    for _ in 0..2 {
        let t = l.turn("b", &bulk, ms(500), Some(NOW)).await.unwrap();
        assert_eq!(t, Turn::Refused(ms(1000)));
    }
    assert_eq!(
        l.turn("b", &bulk, LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(1000))
    );
}

#[tokio::test]
async fn a_freeze_holds_every_booking_until_it_ends() {
    let l = limiter(&[]).await;
    l.freeze("b", ms(1500)).await.unwrap();
    // A shorter freeze arriving later does not cut it short.
    l.freeze("b", ms(100)).await.unwrap();
    let Turn::Booked(wait) = l.turn("b", &to(1), LONG, Some(NOW)).await.unwrap() else {
        panic!("not booked");
    };
    assert!(wait > ms(1300) && wait <= ms(1500), "{wait:?}");
    assert!(matches!(
        l.turn("b", &to(2), ms(1000), Some(NOW)).await.unwrap(),
        Turn::Refused(_)
    ));
    // Others bots are not frozen.
    assert_eq!(
        l.turn("c", &to(1), LONG, Some(NOW)).await.unwrap(),
        Turn::Booked(ms(0))
    );
}

#[tokio::test]
async fn acquire_sleeps_through_a_freeze_set_while_it_waited() {
    let l = limiter(&["--botapi-bot-per-sec=5", "--botapi-bot-burst=1"]).await;
    let plan = Plan {
        chat: None,
        paid: false,
    };
    l.acquire("b", &plan, LONG).await.unwrap();
    // The next turn is booked 200 ms ahead; a freeze of 600 ms lands meanwhile.
    let start = Instant::now();
    let (waited, ()) = tokio::join!(l.acquire("b", &plan, LONG), async {
        tokio::time::sleep(ms(50)).await;
        l.freeze("b", ms(600)).await.unwrap();
    });
    waited.unwrap();
    let took = start.elapsed();
    assert!(took >= ms(640) && took < ms(1200), "{took:?}");
}
