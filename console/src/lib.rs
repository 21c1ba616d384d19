//! sluice's operator console: a JSON admin API under `/api/v1` and server-rendered pages at `/`,
//! on a listener of its own (`SLUICE_CONSOLE_ADDR`) that `sluice-api` serves when a console
//! token is configured.
//!
//! # Layout
//! - [`config`]: the console's settings (flattened into the api's) and the token digests.
//! - [`auth`]: bearer tokens, sessions in Redis, CSRF, failed sign-ins; the two guards.
//! - [`router`]: every route, its guard, the response headers; [`router::app`] builds it.
//! - [`routes`]: the handlers, one module per family.
//! - [`service`]: what the API and the pages read and change (the same functions for both).
//! - [`error`]: [`error::ConsoleError`], the only place the console's statuses are chosen.
//! - [`openapi`]: the API's OpenAPI document, generated from the handlers and served with them.
//!
//! The pages themselves are rendered by `sluice-console-pages` (no I/O there).

pub mod auth;
pub mod config;
pub mod error;
pub mod openapi;
pub mod router;
pub mod routes;
pub mod service;

use std::{future::Future, sync::Arc};

use axum::extract::FromRef;
use redis::aio::ConnectionManager;
use sluice_shared::{job::order::Ordering, sealed::Keyring, serve::ServeConfig};
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::{auth::Auth, config::ConsoleConfig};

/// What the console's handlers share: cheap clonable handles only.
#[derive(Clone)]
pub struct Console {
    pub auth: Auth,
    pub lanes: service::lanes::Lanes,
    /// This replica's queued jobs per lane, for the lanes' in-rates.
    pub arrivals: service::lanes::Arrivals,
    /// The Redis key prefix of this deployment (`SLUICE_QUEUE_PREFIX`).
    pub prefix: String,
    pub redis: ConnectionManager,
    /// The dead letters, and the deployment's ordering a replayed one follows.
    pub dead_letters: service::dead_letters::DeadLetterDesk,
    /// The lane consumers apalis-redis lists.
    pub workers: service::workers::Workers,
    /// The api's Postgres pool: the bots and sources ([`service::bots`]).
    pub db: PgPool,
    /// Seals the tokens and secrets the console writes, as `sluice-api bots|sources` do
    /// (`SLUICE_SECRETS_KEY`), and opens the sources it lists.
    pub keys: Arc<Keyring>,
    /// Admission's recent decisions, as every api replica flushes them.
    pub admission: service::admission::Admissions,
}

impl FromRef<Console> for Auth {
    fn from_ref(c: &Console) -> Auth {
        c.auth.clone()
    }
}

impl Console {
    /// The console for `cfg`, or `None` when no token digest is configured (it does not start
    /// then: a console nobody can sign in to, or anybody can, is worse than none). `ordering` is
    /// the deployment's `SLUICE_ORDERING`, which a replayed dead letter follows.
    pub fn build(
        cfg: &ConsoleConfig,
        redis: ConnectionManager,
        prefix: &str,
        arrivals: service::lanes::Arrivals,
        ordering: Ordering,
        db: PgPool,
        keys: Arc<Keyring>,
    ) -> Option<Console> {
        let tokens = cfg.tokens.clone()?;
        Some(Console {
            auth: Auth::new(cfg, tokens, redis.clone(), prefix),
            lanes: service::lanes::Lanes::new(redis.clone(), prefix),
            arrivals,
            dead_letters: service::dead_letters::DeadLetterDesk::new(
                redis.clone(),
                prefix,
                ordering,
            ),
            workers: service::workers::Workers::new(redis.clone(), prefix),
            admission: service::admission::Admissions::new(redis.clone(), prefix),
            prefix: prefix.to_owned(),
            redis,
            db,
            keys,
        })
    }
}

impl Console {
    /// The lanes' history sampler ([`service::lanes::run_sampler`]), to run while the console
    /// serves.
    pub fn lane_sampler(&self) -> impl Future<Output = ()> + Send + 'static {
        service::lanes::run_sampler(self.lanes.clone(), self.arrivals.clone())
    }
}

/// Serves the console on `listener` until `shutdown` completes, with the server's timers and
/// connection cap (`sluice_shared::serve`).
pub async fn serve(
    listener: TcpListener,
    console: Console,
    cfg: ServeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    sluice_shared::serve::serve(listener, router::app(console), cfg, shutdown).await
}
