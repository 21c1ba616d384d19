//! The server's timers and connection cap, tried with raw sockets as an attacker would: an idle
//! socket, a half-sent header block, a header trickled byte by byte, one connection too many.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::common::{TestApp, spawn_app_with};

const REQUEST: &[u8] = b"GET /nowhere HTTP/1.1\r\nHost: sluice\r\n\r\n";

async fn app(extra: &[&str]) -> TestApp {
    spawn_app_with(&sluice_testkit::redis_url(), extra).await
}

/// Waits up to `within` for the server to close `s` (EOF or reset); how long it took.
async fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), s.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {} // an answer (a 408 or similar) before the close is fine
        }
    }
}

/// Sends one request and reads its whole (small) answer.
async fn round_trip(s: &mut TcpStream) -> String {
    s.write_all(REQUEST).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .expect("answered in time")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let app = app(&["--idle-timeout=1s", "--header-read-timeout=10s"]).await;
    // Never sends a byte.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let took = closed_within(&mut silent, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(900)),
        "{took:?}"
    );

    // Kept alive between requests within the timeout, then closed once idle for it.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    assert!(round_trip(&mut kept).await.starts_with("HTTP/1.1 404"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(round_trip(&mut kept).await.starts_with("HTTP/1.1 404"));
    let took = closed_within(&mut kept, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(900)),
        "{took:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_half_sent_header_block_is_closed_after_the_header_timeout() {
    let app = app(&["--header-read-timeout=1s", "--idle-timeout=60s"]).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"POST /webhook/telegram/testbot HTTP/1.1\r\nHost: sluice\r\n")
        .await
        .unwrap();
    let took = closed_within(&mut s, Duration::from_secs(5)).await;
    assert!(
        took.is_some_and(|t| t >= Duration::from_millis(900)),
        "{took:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_trickled_header_is_closed_after_the_header_timeout() {
    let app = app(&["--header-read-timeout=2s", "--idle-timeout=60s"]).await;
    let s = TcpStream::connect(app.addr).await.unwrap();
    let (mut read, mut write) = s.into_split();
    // One byte a second, for longer than the timeout: the bytes keep coming, the head never ends.
    let trickle = tokio::spawn(async move {
        for b in b"POST /webhook/telegram/testbot HTTP/1.1\r\nHost: sluice\r\nX-Slow: " {
            if write.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(8), read.read(&mut buf)).await {
            Err(_) => break None,
            Ok(Ok(0) | Err(_)) => break Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    };
    trickle.abort();
    assert!(
        closed.is_some_and(|t| t >= Duration::from_millis(1900) && t < Duration::from_secs(5)),
        "{closed:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn past_the_connection_cap_a_connection_waits_until_one_closes() {
    let app = app(&["--max-connections=2", "--idle-timeout=60s"]).await;
    let first = TcpStream::connect(app.addr).await.unwrap();
    let mut second = TcpStream::connect(app.addr).await.unwrap();
    assert!(round_trip(&mut second).await.starts_with("HTTP/1.1 404"));

    // The kernel completes the handshake (backlog), but sluice does not take it yet.
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third.write_all(REQUEST).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let early = tokio::time::timeout(Duration::from_secs(1), third.read(&mut buf)).await;
    assert!(early.is_err(), "the third connection was served at the cap");

    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 404"));
    app.stop().await;
}
