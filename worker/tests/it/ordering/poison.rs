//! A poison update behind a deep backlog (issue 15: "holds its key for at most
//! `SLUICE_ORDER_MAX_HOLD`"): its retries must not queue behind the lane's backlog, or its chat
//! stays held for as long as the backlog takes to drain.

use std::time::Duration;

use futures::StreamExt;
use sluice_testkit::wait_until;

use super::{Stack, assert_in_order, message};

const CHAT: i64 = 7;
const MAX_HOLD: Duration = Duration::from_secs(2);
/// What a held key may take past the max hold: the last attempt, its fetch and the promoter's
/// tick, generous for a loaded debug build (without the fix the hold lasted the backlog's drain).
const SLACK: Duration = Duration::from_secs(4);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_update_behind_a_deep_backlog_holds_its_chat_no_longer_than_the_max_hold() {
    let (backlog, took) = (2000_i64, Duration::from_millis(30));
    // 2000 x 30 ms on 4 handlers: a backlog of about 15 s, far past the max hold.
    let mut stack = Stack::start(
        "chat",
        0,
        &[
            ("SLUICE_ORDER_MAX_HOLD", "2s"),
            ("SLUICE_WORKER_CONCURRENCY", "4"),
        ],
    )
    .await;
    let poison = 1;
    stack.receiver.poison(poison);
    stack.post(&message(poison, CHAT)).await;
    // Other chats' updates behind it in its lane, one chat each: none of them waits for another.
    let ids: Vec<i64> = (0..backlog).map(|i| 1000 + i).collect();
    for &id in &ids {
        stack.receiver.slow(id, took);
    }
    futures::stream::iter(&ids)
        .for_each_concurrent(32, |&id| {
            let stack = &stack;
            async move { stack.post(&message(id, 100_000 + id)).await }
        })
        .await;
    // The chat's later updates, after the backlog.
    let later = [2, 3, 4];
    for id in later {
        stack.post(&message(id, CHAT)).await;
    }
    let w = stack.spawn_worker();
    stack.workers.push(w);

    let (dead, list) = stack.dead_letters(1, Duration::from_secs(120)).await;
    assert!(dead, "the poison update is dead-lettered:\n{list}");
    assert!(list.contains("SLUICE_ORDER_MAX_HOLD"), "{list}");
    let calls = stack.receiver.calls();
    let tries: Vec<_> = calls.iter().filter(|c| c.update_id == poison).collect();
    let held = tries.last().unwrap().end - tries.first().unwrap().start;
    let drained = stack.receiver.succeeded().len();
    eprintln!(
        "poison held its chat {held:?} over {} attempts (max hold {MAX_HOLD:?}); {drained} of \
         {backlog} backlog updates done by then",
        tries.len()
    );
    assert!(tries.len() >= 2, "the poison update was retried: {tries:?}");
    assert!(
        held < MAX_HOLD + SLACK,
        "the poison update held its chat {held:?} (max hold {MAX_HOLD:?} + {SLACK:?})"
    );

    let all = wait_until(Duration::from_secs(180), || async {
        let done = stack.receiver.succeeded();
        later.iter().all(|id| done.contains(id)) && done.len() >= backlog as usize + later.len()
    })
    .await;
    assert!(
        all,
        "{} updates succeeded",
        stack.receiver.succeeded().len()
    );
    let chat: Vec<_> = stack
        .receiver
        .calls()
        .into_iter()
        .filter(|c| c.update_id < 1000)
        .collect();
    assert_in_order(&chat, |_| CHAT);
    let mut ok: Vec<_> = chat.iter().filter(|c| c.ok).collect();
    ok.sort_by_key(|c| c.start);
    let order: Vec<i64> = ok.iter().map(|c| c.update_id).collect();
    assert_eq!(order, later, "the chat's later updates ran in order");
}
