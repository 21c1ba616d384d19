//! The admin listener both binaries serve: `/healthz`, `/readyz` and `/metrics`.
//!
//! It runs on its own address (loopback by default) so probes and scrapes never compete with
//! webhook traffic and are never exposed to the internet with it.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{Router, extract::State, http::StatusCode, routing::get};
use metrics_exporter_prometheus::PrometheusHandle;
use redis::aio::ConnectionManager;
use sqlx::PgPool;
use tokio::net::TcpListener;

/// Readiness budget: a dependency slower than this is as good as down for a webhook.
const READY_WITHIN: Duration = Duration::from_millis(200);

#[derive(Clone)]
pub struct AdminState {
    pub redis: ConnectionManager,
    /// Pinged by `/readyz` when the process cannot work without Postgres (the worker). The api
    /// passes `None`: its requests never query Postgres, and its [`Vitals`] say whether its
    /// cached registries have loaded.
    pub db: Option<PgPool>,
    pub metrics: PrometheusHandle,
}

/// What a binary knows about its own health beyond its dependencies (the worker: whether its
/// lanes stay alive, whether it fetches).
pub trait Vitals: Send + Sync + 'static {
    /// Whether the process should keep running, with `name: state` lines for `/healthz`.
    fn liveness(&self) -> (bool, String);
    /// Whether it does its work, with `name: state` lines added to `/readyz`.
    fn readiness(&self) -> (bool, String);
}

/// No vitals of its own: alive while it answers, ready when its dependencies are.
struct NoVitals;

impl Vitals for NoVitals {
    fn liveness(&self) -> (bool, String) {
        (true, "ok\n".into())
    }
    fn readiness(&self) -> (bool, String) {
        (true, String::new())
    }
}

#[derive(Clone)]
struct Admin {
    state: AdminState,
    vitals: Arc<dyn Vitals>,
}

pub fn router(state: AdminState) -> Router {
    router_with(state, Arc::new(NoVitals))
}

/// The admin router with the binary's own [`Vitals`] in `/healthz` and `/readyz`.
pub fn router_with(state: AdminState, vitals: Arc<dyn Vitals>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Admin { state, vitals })
}

async fn healthz(State(a): State<Admin>) -> (StatusCode, String) {
    let (alive, body) = a.vitals.liveness();
    (status(alive), body)
}

async fn readyz(State(a): State<Admin>) -> (StatusCode, String) {
    let mut s = a.state;
    let db = async {
        match &s.db {
            Some(db) => Some(crate::db::ping(db, READY_WITHIN).await),
            None => None,
        }
    };
    let (redis, db) = tokio::join!(crate::queue::ping(&mut s.redis, READY_WITHIN), db);
    let (working, lines) = a.vitals.readiness();
    let mut body = format!("redis: {}\n", up(redis));
    if let Some(db) = db {
        body.push_str(&format!("postgres: {}\n", up(db)));
    }
    body.push_str(&lines);
    (status(redis && db != Some(false) && working), body)
}

fn status(ok: bool) -> StatusCode {
    if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

fn up(ok: bool) -> &'static str {
    if ok { "ok" } else { "unavailable" }
}

async fn metrics(State(a): State<Admin>) -> String {
    a.state.metrics.render()
}

/// Serves the admin router until `shutdown` completes, with the same timers and cap as the
/// webhook listener (a scraper that hangs must not hold sockets forever either).
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    cfg: crate::serve::ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Arc::new(NoVitals), cfg, shutdown).await
}

/// [`serve`] with the binary's own [`Vitals`].
pub async fn serve_with(
    listener: TcpListener,
    state: AdminState,
    vitals: Arc<dyn Vitals>,
    cfg: crate::serve::ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::serve::serve(listener, router_with(state, vitals), cfg, shutdown).await
}
