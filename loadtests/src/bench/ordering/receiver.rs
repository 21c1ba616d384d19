//! The forward handler's target for the ordering bench and checks: a stand-in for a bot's own
//! server (a real HTTP server on loopback) that takes a set time, or a random time, per call.
//! [`direct`] is the reference a hot chat's drain is held against: the target called by
//! a bare client, one call after the other, as Telegram would call a bot without sluice.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use rand::Rng;

/// How long the receiver takes per call.
#[derive(Debug, Clone, Copy)]
pub enum Delay {
    Fixed(Duration),
    /// Uniform in 0..=max: calls that started in one order end in another.
    UpTo(Duration),
}

#[derive(Default)]
struct Tally {
    calls: AtomicU64,
    busy_us: AtomicU64,
}

/// A running receiver; dropping it stops the server.
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`: SLUICE_FORWARD_URL.
    pub url: String,
    tally: Arc<Tally>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(delay: Delay) -> anyhow::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let tally = Arc::new(Tally::default());
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state((delay, tally.clone()));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver {
            url: format!("http://{addr}/hook"),
            tally,
            task,
        })
    }

    /// Calls answered so far.
    pub fn calls(&self) -> u64 {
        self.tally.calls.load(Relaxed)
    }

    /// Forgets the calls so far: the next figures are of the calls after this.
    pub fn reset(&self) {
        self.tally.calls.store(0, Relaxed);
        self.tally.busy_us.store(0, Relaxed);
    }

    /// The mean time a call spent in the receiver, or None before the first.
    pub fn mean_call(&self) -> Option<Duration> {
        let calls = self.calls();
        (calls > 0).then(|| Duration::from_micros(self.tally.busy_us.load(Relaxed) / calls))
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Calls `url` `n` times, each after the previous was answered, with `body`, from a thread of
/// its own (its own runtime: the target's answers cross threads as they do to another
/// process); the mean wall time of a call. A few calls first warm the connection up.
pub async fn direct(url: &str, n: u64, body: String) -> anyhow::Result<Duration> {
    anyhow::ensure!(n > 0, "no calls to time");
    let url = url.to_owned();
    let thread = std::thread::spawn(move || -> anyhow::Result<Duration> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?;
            let call = || async {
                http.post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await
            };
            for _ in 0..5 {
                call().await?;
            }
            let started = Instant::now();
            for _ in 0..n {
                call().await?;
            }
            Ok(Duration::from_secs_f64(
                started.elapsed().as_secs_f64() / n as f64,
            ))
        })
    });
    tokio::task::spawn_blocking(move || thread.join())
        .await?
        .map_err(|_| anyhow::anyhow!("the direct caller's thread panicked"))?
}

async fn hook(State((delay, tally)): State<(Delay, Arc<Tally>)>) -> StatusCode {
    let started = Instant::now();
    let wait = match delay {
        Delay::Fixed(d) => d,
        Delay::UpTo(max) => {
            Duration::from_micros(rand::rng().random_range(0..=max.as_micros() as u64))
        }
    };
    tokio::time::sleep(wait).await;
    tally
        .busy_us
        .fetch_add(started.elapsed().as_micros() as u64, Relaxed);
    tally.calls.fetch_add(1, Relaxed);
    StatusCode::OK
}
