//! `sluice-load bench ordering`: what per-chat ordering costs.
//!
//! # Layout
//! - `stack`: sluice-api and sluice-worker as processes; `receiver`: the forward target;
//! - `post`: updates posted per chat in order, with a ledger.

pub mod post;
pub mod receiver;
pub mod stack;
