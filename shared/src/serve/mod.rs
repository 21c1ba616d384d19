//! The HTTP server both binaries run their listeners with: hyper's HTTP/1 connection loop with
//! the timers and the cap that `axum::serve` lacks.
//!
//! `axum::serve` sets no timer: an idle socket, a half-sent header block and a header trickled
//! at one byte a second all stayed open for good, and nothing capped the connections. Here:
//! - a **header-read timeout** from the first byte of a request to the end of its headers;
//! - an **idle timeout** between requests (including before the first one);
//! - a **connection cap**: at the cap the loop stops accepting, so new connections wait in the
//!   kernel's listen backlog and are served as soon as one closes (accept-and-close would turn a
//!   burst of legitimate senders into resets they retry at once, and costs an accept per try);
//! - graceful shutdown: stop accepting, close idle connections, let requests in flight finish.
//!
//! hyper's own `header_read_timeout` also runs while a kept-alive connection waits for its next
//! request, so it cannot be longer-idle-than-header; both timers live in [`conn`] instead.
//!
//! # Layout
//! - `mod.rs`: the settings and the accept loop.
//! - `conn.rs`: one connection: its phase (idle, reading a head, busy), the watchdog that closes
//!   it when a timer runs out, and the wrappers that tell the phase from the bytes and requests.

mod conn;

use std::{future::Future, io, pin::pin, sync::Arc, time::Duration};

use axum::Router;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::{net::TcpListener, sync::Semaphore};

use crate::{config::duration_at_least, metrics as m};

/// The server's timers and cap; each listener of a process gets its own cap of this size.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeConfig {
    /// Longest time from a request's first byte to the end of its headers; a slower (or
    /// half-sent) header block has its connection closed.
    #[arg(long = "header-read-timeout", env = "SLUICE_HEADER_READ_TIMEOUT", value_name = "SLUICE_HEADER_READ_TIMEOUT",
          default_value = "10s", value_parser = duration_at_least(Duration::from_millis(1)))]
    pub header_read_timeout: Duration,

    /// How long a connection may sit with no request in progress (before its first request or
    /// between kept-alive requests) before it is closed. Keep it above the idle timeout of a load
    /// balancer in front (60 s on AWS ALB), so the balancer closes first and never reuses a
    /// connection sluice is closing.
    #[arg(long = "idle-timeout", env = "SLUICE_IDLE_TIMEOUT", value_name = "SLUICE_IDLE_TIMEOUT",
          default_value = "75s", value_parser = duration_at_least(Duration::from_millis(1)))]
    pub idle_timeout: Duration,

    /// Open connections per listener; past it new connections wait in the kernel's backlog.
    #[arg(long = "max-connections", env = "SLUICE_MAX_CONNECTIONS", value_name = "SLUICE_MAX_CONNECTIONS",
          default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_connections: u32,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and returns
/// once every open connection has finished (callers bound that wait with their grace period).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    cfg: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(cfg.max_connections as usize));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // A slot first, then accept: at the cap the connection stays in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning; the slot is returned.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let watched = conn::Connection::new(stream, peer, router.clone(), &cfg);
        tokio::spawn(watched.run(&graceful, slot));
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// How a connection ended, as the `reason` label of [`m::HTTP_CONNECTIONS_CLOSED_TOTAL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Closed {
    /// The peer or hyper ended it (including a graceful shutdown).
    Done,
    /// No request in progress for the idle timeout.
    Idle,
    /// A request's headers did not arrive within the header-read timeout.
    HeaderTimeout,
}

impl Closed {
    fn as_str(self) -> &'static str {
        match self {
            Closed::Done => "done",
            Closed::Idle => "idle_timeout",
            Closed::HeaderTimeout => "header_timeout",
        }
    }

    fn count(self) {
        metrics::counter!(m::HTTP_CONNECTIONS_CLOSED_TOTAL, m::LABEL_REASON => self.as_str())
            .increment(1);
    }
}
