//! The admin listener both binaries serve: `/healthz`, `/readyz` and `/metrics`.
//!
//! It runs on its own address (loopback by default) so probes and scrapes never compete with
//! webhook traffic and are never exposed to the internet with it.

use std::{future::Future, time::Duration};

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
    pub db: PgPool,
    pub metrics: PrometheusHandle,
}

pub fn router(state: AdminState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn readyz(State(mut s): State<AdminState>) -> (StatusCode, String) {
    let (redis, db) = tokio::join!(
        crate::queue::ping(&mut s.redis, READY_WITHIN),
        crate::db::ping(&s.db, READY_WITHIN)
    );
    let body = format!("redis: {}\npostgres: {}\n", up(redis), up(db));
    let status = if redis && db {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}

fn up(ok: bool) -> &'static str {
    if ok { "ok" } else { "unavailable" }
}

async fn metrics(State(s): State<AdminState>) -> String {
    s.metrics.render()
}

/// Serves the admin router until `shutdown` completes, with the same timers and cap as the
/// webhook listener (a scraper that hangs must not hold sockets forever either).
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    cfg: crate::serve::ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    crate::serve::serve(listener, router(state), cfg, shutdown).await
}
