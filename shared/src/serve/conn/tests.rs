//! The connection phases and their timers, on a paused clock.

use std::{sync::Arc, time::Duration};

use tokio::{sync::Notify, time::Instant};

use super::{Closed, Phase, Watch};

const HEADER: Duration = Duration::from_secs(10);
const IDLE: Duration = Duration::from_secs(75);

fn watch() -> Arc<Watch> {
    Arc::new(Watch {
        phase: std::sync::Mutex::new(Phase::Idle(Instant::now())),
        changed: Notify::new(),
        header: HEADER,
        idle: IDLE,
    })
}

/// When `w` expires, measured from now (None: not within an hour).
async fn expires_after(w: &Arc<Watch>) -> Option<(Duration, Closed)> {
    let started = Instant::now();
    let w = w.clone();
    tokio::time::timeout(Duration::from_secs(3600), async move { w.expired().await })
        .await
        .ok()
        .map(|why| (started.elapsed(), why))
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_closes_after_the_idle_timeout() {
    assert_eq!(expires_after(&watch()).await, Some((IDLE, Closed::Idle)));
}

#[tokio::test(start_paused = true)]
async fn the_first_byte_of_a_request_starts_the_header_timer() {
    let w = watch();
    tokio::time::advance(Duration::from_secs(30)).await;
    w.bytes_read();
    assert_eq!(
        expires_after(&w).await,
        Some((HEADER, Closed::HeaderTimeout))
    );
}

#[tokio::test(start_paused = true)]
async fn more_bytes_do_not_extend_the_header_timer() {
    let w = watch();
    w.bytes_read();
    let trickle = {
        let w = w.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                w.bytes_read();
            }
        })
    };
    assert_eq!(
        expires_after(&w).await,
        Some((HEADER, Closed::HeaderTimeout))
    );
    trickle.abort();
}

#[tokio::test(start_paused = true)]
async fn a_busy_connection_never_expires_and_idles_again_after_its_response() {
    let w = watch();
    w.bytes_read();
    w.request_started();
    w.request_started(); // pipelined
    assert_eq!(expires_after(&w).await, None);
    w.request_finished();
    assert_eq!(expires_after(&w).await, None, "one request still busy");
    w.request_finished();
    assert_eq!(expires_after(&w).await, Some((IDLE, Closed::Idle)));
}
