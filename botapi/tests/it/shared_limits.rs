//! Three clients (three workers) sharing one limiter, offered three times the limits of every
//! kind at once: the stand-in, enforcing the same limits, answers no 429, no window holds more
//! than a limit allows, and the bot's allowed rate is reached.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use sluice_botapi::BotApi;
use sluice_testkit::telegram_stand_in::{Call, StandInLimits};

use crate::common::{Setup, bot_id};

const BOTS: u32 = 4;
const RUN: Duration = Duration::from_secs(6);
/// How early a call may reach the stand-in against its booked time: the scheduling delay of a
/// loaded two-core machine between Redis's clock and the stand-in's (Telegram's slack for the
/// network is unpublished; sluice's bookings themselves are exact).
const SLACK_US: u64 = 100_000;
/// The stand-in's limits, booked exactly (no `SLUICE_BOTAPI_MARGIN`): in one process the
/// limiter alone must keep within them.
const ARGS: &[&str] = &[
    "--botapi-margin=0",
    "--botapi-bot-per-sec=20",
    "--botapi-bot-burst=5",
    "--botapi-chat-per-sec=2",
    "--botapi-chat-burst=2",
    "--botapi-group-per-min=30",
    "--botapi-group-burst=2",
];

fn stand_in_limits() -> StandInLimits {
    StandInLimits {
        bot_per_sec: 20.0,
        bot_burst: 5,
        chat_per_sec: 2.0,
        chat_burst: 2,
        group_per_min: 30.0,
        group_burst: 2,
        slack: Duration::from_micros(SLACK_US),
        ..StandInLimits::default()
    }
}

/// Sends to `chats` (picked in turn) for bot `n` until `until`.
async fn sender(api: BotApi, n: u32, chats: Arc<Vec<i64>>, offset: usize, until: Instant) {
    let bot = format!("b{n}");
    let mut i = offset;
    while Instant::now() < until {
        let chat = chats[i % chats.len()];
        i += 7;
        api.send_message(&bot, chat, "x").await.unwrap();
    }
}

/// The most calls GCRA(1/per_sec, burst) lets through in any window of `width` us, when each may
/// arrive up to [`SLACK_US`] early: `burst + ceil((width + slack) / T) - 1`.
fn bound(per_sec: f64, burst: u64, width: u64) -> usize {
    let t = (1e6 / per_sec) as u64;
    (burst + (width + SLACK_US).div_ceil(t) - 1) as usize
}

/// The most calls in any window of `width` starting at a call.
fn densest(times: &[u64], width: u64) -> usize {
    let mut most = 0;
    for (i, t) in times.iter().enumerate() {
        most = most.max(times[i..].iter().take_while(|u| **u < t + width).count());
    }
    most
}

fn times<'a>(calls: impl Iterator<Item = &'a Call>) -> Vec<u64> {
    let mut t: Vec<u64> = calls.map(|c| c.at_us).collect();
    t.sort_unstable();
    t
}

#[tokio::test]
async fn three_clients_at_three_times_the_limits_stay_within_them() {
    let s = Setup::new(BOTS, stand_in_limits()).await;
    let clients = [
        s.client(ARGS).await,
        s.client(ARGS).await,
        s.client(ARGS).await,
    ];
    let start = Instant::now();
    let until = start + RUN;
    let mut tasks = Vec::new();
    for n in 1..=BOTS {
        // Per bot: a private chat and a group each offered 3x their limit, and 60 chats that
        // together offer 3x the bot's limit (each sender is one worker slot in a loop).
        let hot = Arc::new(vec![1000 + i64::from(n)]);
        let group = Arc::new(vec![-1000 - i64::from(n)]);
        let spread = Arc::new(
            (1..=60)
                .map(|c| i64::from(n) * 10_000 + c)
                .collect::<Vec<_>>(),
        );
        for k in 0..30usize {
            let (chats, offset) = match k {
                0..=2 => (hot.clone(), 0),
                3..=5 => (group.clone(), 0),
                _ => (spread.clone(), k),
            };
            let api = clients[k % 3].clone();
            tasks.push(tokio::spawn(sender(api, n, chats, offset, until)));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let calls = s.stand_in.calls();
    let refused = calls.iter().filter(|c| c.status == 429).count();
    for c in calls.iter().filter(|c| c.status == 429) {
        let near: Vec<String> = calls
            .iter()
            .filter(|d| d.bot == c.bot && d.at_us.abs_diff(c.at_us) < 400_000)
            .map(|d| {
                format!(
                    "{:+} ms {:?} {}",
                    (d.at_us as i64 - c.at_us as i64) / 1000,
                    d.chat,
                    d.status
                )
            })
            .collect();
        println!(
            "429 for bot {} chat {:?}:\n{}",
            c.bot,
            c.chat,
            near.join("\n")
        );
    }
    assert_eq!(
        refused,
        0,
        "the stand-in refused {refused} of {} calls",
        calls.len()
    );
    let t0 = calls.iter().map(|c| c.at_us).min().unwrap();
    let mut rates = Vec::new();
    for n in 1..=BOTS {
        let id = bot_id(n);
        let of_bot: Vec<&Call> = calls.iter().filter(|c| c.bot == id).collect();
        let bot = densest(&times(of_bot.iter().copied()), 1_000_000);
        assert!(
            bot <= bound(20.0, 5, 1_000_000),
            "bot {n}: {bot} calls in one second"
        );
        let hot = format!("{}", 1000 + n);
        let chat = densest(
            &times(
                of_bot
                    .iter()
                    .copied()
                    .filter(|c| c.chat.as_deref() == Some(&hot)),
            ),
            1_000_000,
        );
        assert!(
            chat <= bound(2.0, 2, 1_000_000),
            "chat {hot}: {chat} calls in one second"
        );
        let grp = format!("-{}", 1000 + n);
        let group = densest(
            &times(
                of_bot
                    .iter()
                    .copied()
                    .filter(|c| c.chat.as_deref() == Some(&grp)),
            ),
            6_000_000,
        );
        assert!(
            group <= bound(0.5, 2, 6_000_000),
            "group {grp}: {group} calls in six seconds"
        );
        // The steady part of the run (after the first second's burst, before the end).
        let steady = of_bot
            .iter()
            .filter(|c| (1_000_000..5_000_000).contains(&(c.at_us - t0)))
            .count();
        rates.push(steady as f64 / (4.0 * 20.0));
    }
    println!("achieved / allowed per bot over 4 s at 3x offered: {rates:.3?}");
    for r in &rates {
        assert!(*r >= 0.95, "achieved {r:.3} of the allowed rate");
    }
    s.db.drop_db().await;
}
