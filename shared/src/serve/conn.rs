//! One served connection: its phase, the watchdog that enforces the timers, and the wrappers
//! that keep the phase current (bytes read on the socket, requests handed to the router).

use std::{
    convert::Infallible,
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, body::Body, extract::ConnectInfo};
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::{Request, Response, body::Incoming, server::conn::http1};
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown, service::TowerToHyperService};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpStream,
    sync::{Notify, OwnedSemaphorePermit},
    time::Instant,
};

use super::{Closed, ServeConfig};
use crate::metrics as m;

/// The most a connection's read buffer may grow to (hyper's minimum is 8 KiB).
const READ_BUFFER_MAX: usize = 64 * 1024;

type Conn = http1::Connection<TokioIo<Activity>, Tracked>;

/// A connection ready to be served, with the state its watchdog reads.
pub(super) struct Connection {
    conn: Conn,
    watch: Arc<Watch>,
}

impl Connection {
    pub(super) fn new(
        stream: TcpStream,
        peer: SocketAddr,
        router: Router,
        cfg: &ServeConfig,
    ) -> Connection {
        let watch = Arc::new(Watch {
            phase: Mutex::new(Phase::Idle(Instant::now())),
            changed: Notify::new(),
            header: cfg.header_read_timeout,
            idle: cfg.idle_timeout,
        });
        let io = TokioIo::new(Activity {
            inner: stream,
            watch: watch.clone(),
        });
        let service = Tracked {
            inner: TowerToHyperService::new(router),
            watch: watch.clone(),
            peer: ConnectInfo(peer),
        };
        // Our own timers replace hyper's header timer (see the module docs of `serve`). The read
        // buffer is capped (hyper's default may grow to ~400 KiB) so that what a connection can
        // hold is bounded by SLUICE_MAX_CONNECTIONS × 64 KiB; 64 KiB still allows header blocks
        // far larger than any webhook sends.
        let conn = http1::Builder::new()
            .keep_alive(true)
            .max_buf_size(READ_BUFFER_MAX)
            .header_read_timeout(None)
            .serve_connection(io, service);
        Connection { conn, watch }
    }

    /// Serves until the peer, hyper, a shutdown or a timer ends the connection; the slot of the
    /// connection cap is given back then.
    pub(super) fn run(
        self,
        graceful: &GracefulShutdown,
        slot: OwnedSemaphorePermit,
    ) -> impl Future<Output = ()> + Send + 'static {
        let served = graceful.watch(self.conn);
        let watch = self.watch;
        async move {
            metrics::gauge!(m::HTTP_CONNECTIONS_OPEN).increment(1.0);
            let closed = tokio::select! {
                result = served => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    Closed::Done
                }
                why = watch.expired() => why,
            };
            closed.count();
            metrics::gauge!(m::HTTP_CONNECTIONS_OPEN).decrement(1.0);
            drop(slot);
        }
    }
}

/// Where a connection is between requests; only `Idle` and `Head` have a deadline.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in progress since this instant (after accept, or after the last response).
    Idle(Instant),
    /// The first bytes of a request arrived at this instant; its headers are not complete.
    Head(Instant),
    /// This many requests are with the router or still writing their response.
    Busy(usize),
}

struct Watch {
    phase: Mutex<Phase>,
    changed: Notify,
    header: Duration,
    idle: Duration,
}

impl Watch {
    fn update(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut phase = self.phase.lock().unwrap_or_else(|p| p.into_inner());
        *phase = f(*phase);
        drop(phase);
        self.changed.notify_one();
    }

    fn deadline(&self) -> Option<(Instant, Closed)> {
        match *self.phase.lock().unwrap_or_else(|p| p.into_inner()) {
            Phase::Idle(since) => Some((since + self.idle, Closed::Idle)),
            Phase::Head(since) => Some((since + self.header, Closed::HeaderTimeout)),
            Phase::Busy(_) => None,
        }
    }

    /// Completes when the current phase outlives its timer.
    async fn expired(&self) -> Closed {
        loop {
            // notify_one keeps a permit when nobody waits, so a change between reading the
            // phase and awaiting is never missed.
            match self.deadline() {
                None => self.changed.notified().await,
                Some((at, why)) => tokio::select! {
                    () = tokio::time::sleep_until(at) => {
                        if self.deadline().is_some_and(|(now_at, _)| now_at <= Instant::now()) {
                            return why;
                        }
                    }
                    () = self.changed.notified() => {}
                },
            }
        }
    }

    fn bytes_read(&self) {
        // Cheap check first: reads while busy (request bodies) change nothing.
        if matches!(
            *self.phase.lock().unwrap_or_else(|p| p.into_inner()),
            Phase::Idle(_)
        ) {
            self.update(|p| match p {
                Phase::Idle(_) => Phase::Head(Instant::now()),
                other => other,
            });
        }
    }

    fn request_started(&self) {
        self.update(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Idle(_) | Phase::Head(_) => Phase::Busy(1),
        });
    }

    fn request_finished(&self) {
        self.update(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
    }
}

/// The socket, reporting each read so that a request's first byte starts its header timer.
struct Activity {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Activity {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.watch.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Activity {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The router, marking the connection busy from a request's complete head until its response
/// body is written (or the request is dropped).
#[derive(Clone)]
struct Tracked {
    inner: TowerToHyperService<Router>,
    watch: Arc<Watch>,
    /// The client's address, as axum's `ConnectInfo` in every request's extensions (the console
    /// counts failed sign-ins per client).
    peer: ConnectInfo<SocketAddr>,
}

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        self.watch.request_started();
        req.extensions_mut().insert(self.peer);
        let busy = Busy(self.watch.clone());
        let answer = self.inner.call(req);
        Box::pin(async move {
            let resp = answer.await?;
            Ok(resp.map(|body| TrackedBody { body, _busy: busy }))
        })
    }
}

/// Ends the busy phase of one request when dropped.
struct Busy(Arc<Watch>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its request's busy mark until hyper drops it (fully written).
struct TrackedBody {
    body: Body,
    _busy: Busy,
}

impl HttpBody for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
