//! The scenarios of issue 15: a concurrent load across chats (clean, with a worker killed -9,
//! with poison updates), a chat's message then its button press under both modes, and a
//! replayed dead letter.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use sluice_testkit::wait_until;

use super::{Stack, assert_in_order, callback, load_size, message};
use crate::common::worker_cli;

/// Update `i` (0-based) of chat `c`: ids interleave across chats as Telegram's do, and rise
/// within each chat.
fn update_id(i: i64, c: i64, chats: i64) -> i64 {
    i * chats + c + 1
}

/// Sends every chat's updates in order, each after the previous was answered, all chats at once
/// (one connection each).
async fn send_load(stack: &Stack, chats: i64, per_chat: i64) {
    let sends = (0..chats).map(|c| async move {
        for i in 0..per_chat {
            stack
                .post(&message(update_id(i, c, chats), 10_000 + c))
                .await;
        }
    });
    futures::future::join_all(sends).await;
}

/// Runs the load on three workers; `kill`: one worker is killed -9 a third of the way in and
/// restarted; `poison`: the 11th update of 5 chats always fails.
async fn ordered_load(kill: bool, poison: bool) {
    let (chats, per_chat) = load_size((200, 50));
    let mut stack = Stack::start("chat", 3, &[("SLUICE_ORDER_MAX_HOLD", "2s")]).await;
    let poisoned: Vec<i64> = match poison {
        true => (0..5.min(chats))
            .map(|c| update_id(10.min(per_chat - 1), c, chats))
            .collect(),
        false => Vec::new(),
    };
    for &p in &poisoned {
        stack.receiver.poison(p);
    }
    let total = (chats * per_chat) as usize;
    let began = Instant::now();
    let mut victim = stack.workers.remove(0);
    let killer = async {
        if kill {
            let third = wait_until(Duration::from_secs(120), || async {
                stack.receiver.succeeded().len() >= total / 3
            })
            .await;
            assert!(third, "a third of the load never ran");
            victim.kill9().await;
        }
    };
    tokio::join!(send_load(&stack, chats, per_chat), killer);
    match kill {
        true => {
            let again = stack.spawn_worker();
            stack.workers.push(again);
        }
        false => stack.workers.push(victim),
    }
    let expected: HashSet<i64> = (0..chats)
        .flat_map(|c| (0..per_chat).map(move |i| update_id(i, c, chats)))
        .filter(|id| !poisoned.contains(id))
        .collect();
    let all_ran = wait_until(Duration::from_secs(180), || async {
        expected.is_subset(&stack.receiver.succeeded())
    })
    .await;
    let done = stack.receiver.succeeded();
    assert!(
        all_ran,
        "{} of {} updates never succeeded",
        expected.difference(&done).count(),
        expected.len()
    );
    let drained = began.elapsed();
    let (dead, list) = stack
        .dead_letters(poisoned.len(), Duration::from_secs(30))
        .await;
    assert!(
        dead,
        "every poison update is dead-lettered, nothing else:\n{list}"
    );
    let calls = stack.receiver.calls();
    let keys = assert_in_order(&calls, |id| (id - 1) % chats);
    assert_eq!(keys as i64, chats);
    if poison {
        assert_eq!(
            list.matches("SLUICE_ORDER_MAX_HOLD").count(),
            poisoned.len(),
            "dead for holding their chat too long:\n{list}"
        );
        for p in &poisoned {
            let attempts = calls.iter().filter(|c| c.update_id == *p).count();
            assert!(
                attempts >= 2,
                "poison update {p} was retried ({attempts}):\n{list}"
            );
        }
        let metrics = stack.workers[0].metrics().await;
        assert!(
            metrics.contains("sluice_order_max_hold_seconds 2"),
            "{metrics}"
        );
        assert!(
            metrics.contains("sluice_order_held_seconds_count"),
            "{metrics}"
        );
    }
    let mut parked = 0.0;
    for w in &stack.workers {
        let metrics = w.metrics().await;
        parked += metrics
            .lines()
            .filter(|l| l.starts_with("sluice_jobs_total{") && l.contains(r#"outcome="parked""#))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>();
    }
    eprintln!(
        "ordered load: {chats} chats x {per_chat} updates, kill={kill} poison={poison}: {} calls in {drained:?}; \
         parked on the workers alive at the end: {parked}",
        calls.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_chat_runs_one_update_at_a_time_in_order_across_three_workers() {
    ordered_load(false, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn order_holds_when_a_worker_is_killed_mid_run_and_restarted() {
    ordered_load(true, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_update_is_dead_lettered_after_the_max_hold_and_its_chat_moves_on() {
    ordered_load(false, true).await;
}

/// A chat's message (normal lane) that takes a while, then a button press in it (high lane):
/// answers (message call, callback call).
async fn message_then_button(mode: &str) -> (super::Call, super::Call) {
    let stack = Stack::start(mode, 1, &[]).await;
    stack.receiver.slow(1, Duration::from_millis(800));
    stack.post(&message(1, -500)).await;
    stack.post(&callback(2, -500, 77)).await;
    let both = wait_until(Duration::from_secs(30), || async {
        stack.receiver.succeeded().len() == 2
    })
    .await;
    assert!(both, "{:?}", stack.receiver.calls());
    let calls = stack.receiver.calls();
    let of = |id| *calls.iter().find(|c| c.update_id == id).unwrap();
    (of(1), of(2))
}

#[tokio::test]
async fn under_chat_a_button_press_waits_for_the_message_before_it() {
    let (msg, button) = message_then_button("chat").await;
    assert!(
        button.start >= msg.end,
        "the callback ran {:?} before the message ended",
        msg.end - button.start
    );
}

#[tokio::test]
async fn under_telegram_a_button_press_does_not_wait_for_its_chat() {
    let (msg, button) = message_then_button("telegram").await;
    assert!(
        button.start < msg.end,
        "the callback waited for the message (keyed by its user, it should not)"
    );
}

#[tokio::test]
async fn a_replayed_dead_letter_runs_after_its_chats_current_work() {
    let stack = Stack::start("chat", 1, &[("SLUICE_ORDER_MAX_HOLD", "1s")]).await;
    stack.receiver.poison(1);
    stack.post(&message(1, 42)).await;
    let (dead, list) = stack.dead_letters(1, Duration::from_secs(30)).await;
    assert!(dead, "{list}");
    // The chat moves on; while update 2 runs and 3 waits behind it, the letter is replayed.
    stack.receiver.slow(2, Duration::from_millis(1500));
    stack.post(&message(2, 42)).await;
    stack.post(&message(3, 42)).await;
    let running = wait_until(Duration::from_secs(20), || async {
        stack.receiver.begun(2)
    })
    .await;
    assert!(running);
    stack.receiver.cure(1);
    worker_cli(&stack.redis, &stack.prefix, &["dlq", "replay", "--all"]).await;
    let replayed = wait_until(Duration::from_secs(30), || async {
        stack.receiver.succeeded().contains(&1)
    })
    .await;
    assert!(replayed, "{:?}", stack.receiver.calls());
    let calls = stack.receiver.calls();
    let replay = calls.iter().find(|c| c.update_id == 1 && c.ok).unwrap();
    let third = calls.iter().find(|c| c.update_id == 3).unwrap();
    assert!(
        replay.start >= third.end,
        "the replayed update ran before the chat's queued update 3 finished"
    );
}
