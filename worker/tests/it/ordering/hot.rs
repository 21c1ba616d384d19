//! One hot chat: its updates are handed from one job to the next, in memory when they wait in
//! the finishing worker (`order::local`), else in the finishing slot (a chain, `order::chain`),
//! bounded, crash-safe, and a poison update in a chain still holds the chat no longer than the
//! max hold.

use std::time::Duration;

use sluice_testkit::wait_until;

use super::{Stack, assert_in_order, message, next_total, script_calls};

const CHAT: i64 = 9;

/// Posts updates `ids` of the chat in order, before any worker runs. The tests make update 1
/// slow, so that a worker fetches the rest while it runs (they wait in it, or park): they are
/// then handed on.
async fn post_chat(stack: &Stack, ids: impl IntoIterator<Item = i64>) {
    for id in ids {
        stack.post(&message(id, CHAT)).await;
    }
}

/// The chat's successful calls, in the order they started.
fn succeeded_in_order(stack: &Stack) -> Vec<i64> {
    let mut ok: Vec<_> = stack
        .receiver
        .calls()
        .into_iter()
        .filter(|c| c.ok)
        .collect();
    ok.sort_by_key(|c| c.start);
    ok.iter().map(|c| c.update_id).collect()
}

/// One chat of `n` updates (update 1 slow, so the rest are fetched while it runs) drained by
/// `workers` workers: every update ran once, in order, one at a time. Answers the stack.
async fn drain_hot_chat(n: i64, workers: usize, within: Duration) -> Stack {
    let mut stack = Stack::start("chat", 0, &[]).await;
    stack.receiver.slow(1, Duration::from_millis(300));
    post_chat(&stack, 1..=n).await;
    for _ in 0..workers {
        let w = stack.spawn_worker();
        stack.workers.push(w);
    }
    let all = wait_until(within, || async {
        stack.receiver.succeeded().len() == n as usize
    })
    .await;
    assert!(all, "{} of {n} ran", stack.receiver.succeeded().len());
    assert_in_order(&stack.receiver.calls(), |_| CHAT);
    assert_eq!(succeeded_in_order(&stack), (1..=n).collect::<Vec<_>>());
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hot_chat_is_handed_on_in_bounded_chains_and_keeps_its_order() {
    let n = 300_i64;
    let stack = drain_hot_chat(n, 2, Duration::from_secs(120)).await;
    let (mut chained, mut requeued) = (0.0, 0.0);
    for w in &stack.workers {
        chained += next_total(w, "chained").await;
        requeued += next_total(w, "requeued").await;
    }
    eprintln!("hot chat of {n}: {chained} chained, {requeued} re-queued");
    // Most of the chat went from job to job in the slot; a chain stops at 64 jobs (or 1 s), so
    // a few went back through the lane.
    assert!(chained >= (n / 2) as f64, "chained {chained}");
    assert!(requeued >= 1.0, "no chain reached its bound: {requeued}");
    // Each hand-off came from a timed `finish.lua` call: the round trip a busy chat pays between
    // two updates is visible to an operator, in buckets fine enough for a local Redis.
    let mut finishes = 0.0;
    for w in &stack.workers {
        let (calls, fine) = script_calls(w, "finish").await;
        assert!(calls == 0.0 || fine, "no 50 µs bucket");
        finishes += calls;
    }
    assert!(
        finishes >= chained,
        "{finishes} finish calls for {chained} chained"
    );
}

/// Update 5 of 12 (slow) is running, handed the chat `how`, when its worker is killed (-9); an
/// heir takes over after the lease. Every update ran, in order, 5 again after the kill (the
/// receiver records a call when it ends, so the cut first call of 5 is not there). Answers the
/// stack, with the heir as its only worker.
async fn kill_while_update_5_runs(local_wait: &str, how: &str, at_least: f64) -> Stack {
    let mut stack = Stack::start("chat", 0, &[("SLUICE_ORDER_LOCAL_WAIT", local_wait)]).await;
    let slow = 5;
    stack.receiver.slow(1, Duration::from_millis(300));
    stack.receiver.slow(slow, Duration::from_secs(3));
    post_chat(&stack, 1..=12).await;
    let mut victim = stack.spawn_worker();
    let running = wait_until(Duration::from_secs(30), || async {
        stack.receiver.begun(slow)
    })
    .await;
    assert!(running, "{:?}", stack.receiver.calls());
    let handed = next_total(&victim, how).await;
    assert!(
        handed >= at_least,
        "{handed} updates {how}, want {at_least}"
    );
    victim.kill9().await;
    let killed = std::time::Instant::now();
    let heir = stack.spawn_worker();
    stack.workers.push(heir);
    let all = wait_until(Duration::from_secs(90), || async {
        stack.receiver.succeeded().len() == 12
    })
    .await;
    assert!(all, "{:?}", stack.receiver.calls());
    // Nothing after 5 had started before it ran again.
    assert_in_order(&stack.receiver.calls(), |_| CHAT);
    assert_eq!(succeeded_in_order(&stack), (1..=12).collect::<Vec<_>>());
    let again = stack
        .receiver
        .calls()
        .into_iter()
        .find(|c| c.update_id == slow);
    assert!(
        again.is_some_and(|c| c.start > killed),
        "update {slow} ran again after the crash: {again:?}"
    );
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_chain_is_taken_over_after_its_lease_without_reordering() {
    // Nothing waits in memory: 2..12 park while 1 runs, so 5 runs chained.
    let stack = kill_while_update_5_runs("0", "chained", 1.0).await;
    assert!(
        next_total(&stack.workers[0], "resumed").await >= 1.0,
        "the chain was not resumed from its carrier"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_poison_update_in_a_chain_is_dead_lettered_after_the_max_hold() {
    let max_hold = Duration::from_secs(2);
    let mut stack = Stack::start("chat", 0, &[("SLUICE_ORDER_MAX_HOLD", "2s")]).await;
    let poison = 3;
    stack.receiver.slow(1, Duration::from_millis(300));
    stack.receiver.poison(poison);
    post_chat(&stack, 1..=8).await;
    let w = stack.spawn_worker();
    stack.workers.push(w);
    let (dead, list) = stack.dead_letters(1, Duration::from_secs(60)).await;
    assert!(dead, "{list}");
    assert!(list.contains("SLUICE_ORDER_MAX_HOLD"), "{list}");
    let all = wait_until(Duration::from_secs(60), || async {
        stack.receiver.succeeded().len() == 7
    })
    .await;
    assert!(all, "{:?}", stack.receiver.calls());
    let calls = stack.receiver.calls();
    assert_in_order(&calls, |_| CHAT);
    assert_eq!(succeeded_in_order(&stack), vec![1, 2, 4, 5, 6, 7, 8]);
    let tries: Vec<_> = calls.iter().filter(|c| c.update_id == poison).collect();
    let held = tries.last().unwrap().end - tries.first().unwrap().start;
    assert!(tries.len() >= 2, "the poison update was retried: {tries:?}");
    assert!(
        held < max_hold + Duration::from_secs(4),
        "the poison update held its chat {held:?}"
    );
    assert!(next_total(&stack.workers[0], "chained").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn updates_waiting_in_the_worker_are_handed_the_chat_in_memory_in_order() {
    let n = 40_i64;
    let stack = drain_hot_chat(n, 1, Duration::from_secs(60)).await;
    // 2..17 waited in the worker (SLUICE_ORDER_LOCAL_WAIT 16) while 1 ran; later ones parked
    // past that cap and were chained.
    let handed = next_total(&stack.workers[0], "handed").await;
    let chained = next_total(&stack.workers[0], "chained").await;
    eprintln!("hot chat of {n}, one worker: {handed} handed in memory, {chained} chained");
    assert!(handed >= 15.0, "handed {handed}");
    assert!(chained >= 1.0, "chained {chained}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_while_its_waiters_run_is_taken_over_after_its_lease_without_reordering() {
    // 2..12 wait in the victim while 1 runs; 2..5 are handed the chat in memory. Their tasks
    // are still the victim's (unacknowledged): after the lease 5 runs again first (the key
    // names it as its holder), then the rest.
    kill_while_update_5_runs("16", "handed", 4.0).await;
}
