//! sluice-api: authenticates webhook deliveries (Telegram, and signed webhooks from any provider)
//! and makes them durable in Redis before answering 2xx.
//!
//! # Layout
//! - [`config`]: the CLI and every setting, parsed once.
//! - [`state`]: [`state::AppState`], what the handlers share.
//! - [`startup`]: the state built, router and layer stack, listeners, graceful shutdown.
//! - [`routes`]: one module per route family (`telegram`, `hooks`).
//! - [`registry`]: the cached `bots` table.
//! - [`verify`]: unverified delivery → [`verify::VerifiedBot`].
//! - [`sources`]: signed-webhook sources: the cached table, their options, the CLI.
//! - [`signature`]: signature header → [`signature::Verified`] body (github, stripe, plain).
//! - [`replay`]: a timestamped signature is accepted once within its window.
//! - [`admission`]: load shedding, rate limits (local or Redis) and their policies.
//! - [`enqueue`]: the durable, deduplicated, time-bounded enqueue.
//! - [`error`]: [`error::ApiError`], the only place HTTP statuses are chosen.
//! - [`bots`]: the `sluice-api bots` commands.

pub mod admission;
pub mod bots;
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
