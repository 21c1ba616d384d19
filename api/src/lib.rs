//! sluice-api: authenticates webhook deliveries (Telegram, and signed webhooks from any provider)
//! and makes them durable in Redis before answering 2xx.
//!
//! # Layout
//! - [`cli`]: every command of `sluice-api` (serve, migrate, bots, sources) and its exit code.
//! - [`config`]: every setting, parsed once.
//! - [`state`]: [`state::AppState`], what the handlers share.
//! - [`startup`]: the state built, router and layer stack, listeners, the queue's one depth
//!   sampler (shedding and gauges), graceful shutdown.
//! - [`access`]: request ids and the access log (tower-http's layers, configured).
//! - [`routes`]: one module per route family (`telegram`, `hooks`).
//! - [`registry`]: the in-memory [`registry::Cache`] of a table: the bots here, the sources in
//!   [`sources`].
//! - [`verify`]: unverified delivery → [`verify::VerifiedBot`].
//! - [`sources`]: signed-webhook sources: the cached table, their options, their changes.
//! - [`signature`]: signature header → [`signature::Verified`] body (github, stripe, plain).
//! - [`replay`]: a timestamped signature is accepted once within its window.
//! - [`admission`]: load shedding, rate limits (local or Redis) and their policies.
//! - [`enqueue`]: the durable, deduplicated, time-bounded enqueue: batching, budget and metrics
//!   around `sluice_shared::queue::Pusher`.
//! - [`error`]: [`error::ApiError`], the only place HTTP statuses are chosen.
//! - [`bots`]: the `bots` table's writes (add, update, list, remove), tokens sealed.
//! - [`at_rest`]: every sealed column at once: clear text sealed, older keys re-sealed.
//! - [`vitals`]: what `/healthz` and `/readyz` say: ready once Redis answers and the registries
//!   have loaded (Postgres itself is not needed to take webhooks).

pub mod access;
pub mod admission;
pub mod at_rest;
pub mod bots;
pub mod cli;
pub mod config;
pub mod enqueue;
pub mod error;
pub mod registry;
pub mod replay;
pub mod routes;
pub mod signature;
pub mod sources;
pub mod startup;
pub mod state;
pub mod verify;
pub mod vitals;
