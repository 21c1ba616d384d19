//! What the console reads and changes, as functions the JSON API and the pages both call.
//!
//! # Layout
//! - [`bots`]: bots and sources, through the functions `sluice-api bots|sources` use.
//! - [`lanes`]: depth by state, oldest age, in/out rates and their last hour (a sampler of its
//!   own keeps that history in Redis).
//! - [`dead_letters`]: list, one letter, dry-run count, replay and purge (`sluice_shared::dlq`).
//! - [`workers`]: the live lane consumers from apalis-redis's workers sets.
//! - [`admission`]: decisions by lane and the most limited bots and chats, counted by each api
//!   replica and summed over buckets in Redis.

pub mod admission;
pub mod bots;
pub mod dead_letters;
pub mod lanes;
pub mod workers;
