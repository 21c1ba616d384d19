//! The supervisor on a paused clock: real panicking futures, no sleeps.

use std::sync::atomic::{AtomicU32, Ordering};

use super::*;

/// A lane consumer that panics on its first `dies` runs, then runs until stopped.
fn flaky(
    runs: Arc<AtomicU32>,
    dies: u32,
    stop: watch::Receiver<bool>,
) -> impl FnMut(u64) -> futures::future::BoxFuture<'static, Result<(), String>> {
    move |_| {
        let n = runs.fetch_add(1, Ordering::SeqCst);
        let mut stop = stop.clone();
        async move {
            assert!(n >= dies, "lane consumer died (run {n})");
            let _ = stop.wait_for(|s| *s).await;
            Ok(())
        }
        .boxed()
    }
}

async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_dead_lane_is_restarted() {
    let (tx, rx) = watch::channel(false);
    let (runs, health) = (Arc::new(AtomicU32::new(0)), LaneHealth::default());
    let task = tokio::spawn(supervise(
        Lane::High,
        health.clone(),
        rx.clone(),
        flaky(runs.clone(), 1, rx),
    ));
    settle().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "restarted once after the panic"
    );
    assert!(health.failing().is_empty(), "one death is no reason to die");
    tx.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_lane_that_keeps_dying_fails_liveness_until_one_incarnation_lives() {
    let (tx, rx) = watch::channel(false);
    let (runs, health) = (Arc::new(AtomicU32::new(0)), LaneHealth::default());
    let task = tokio::spawn(supervise(
        Lane::Low,
        health.clone(),
        rx.clone(),
        flaky(runs.clone(), MAX_STREAK, rx),
    ));
    let mut waited = Duration::ZERO;
    while runs.load(Ordering::SeqCst) < MAX_STREAK {
        settle().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
        assert!(
            waited < STABLE,
            "restarts back off, but not for a minute yet"
        );
    }
    settle().await;
    assert_eq!(health.failing(), vec![Lane::Low]);
    // The next incarnation lives; after a stable minute the lane counts as alive again.
    tokio::time::sleep(Duration::from_secs(40)).await;
    settle().await;
    assert_eq!(runs.load(Ordering::SeqCst), MAX_STREAK + 1);
    assert_eq!(health.failing(), vec![Lane::Low], "not stable yet");
    tokio::time::sleep(STABLE).await;
    assert!(health.failing().is_empty());
    tx.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn redis_errors_restart_the_lane_without_failing_liveness() {
    let (tx, rx) = watch::channel(false);
    let (runs, health) = (Arc::new(AtomicU32::new(0)), LaneHealth::default());
    let counter = runs.clone();
    let task = tokio::spawn(supervise(Lane::Normal, health.clone(), rx, move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        async { Err::<(), _>("connection refused") }
    }));
    tokio::time::sleep(Duration::from_secs(120)).await;
    settle().await;
    assert!(runs.load(Ordering::SeqCst) > MAX_STREAK);
    assert!(health.failing().is_empty());
    tx.send(true).unwrap();
    task.await.unwrap();
}

#[test]
fn panic_messages_are_read_from_either_payload() {
    let literal = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
    assert_eq!(panic_message(&*literal), "boom");
    let formatted = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
    assert_eq!(panic_message(&*formatted), "boom 7");
}

#[test]
fn a_consumer_that_keeps_dying_fails_its_lane_while_another_consumer_of_it_lives() {
    let health = LaneHealth::default();
    health.consumer(0).started(Lane::Low);
    let second = health.consumer(1);
    for _ in 0..MAX_STREAK {
        second.started(Lane::Low);
        second.died(Lane::Low, Death::Panic);
    }
    assert_eq!(health.failing(), vec![Lane::Low]);
    assert_eq!(
        health.consumer(0).failing(),
        vec![Lane::Low],
        "any handle sees every consumer"
    );
}
