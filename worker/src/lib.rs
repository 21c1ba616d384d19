//! sluice-worker: drains the lanes' Redis queues into Postgres.
//!
//! # Layout
//! - [`config`]: every setting, parsed once.
//! - [`startup`]: one supervised apalis worker per lane, admin listener, graceful shutdown.
//! - [`handler`]: one job → one `updates` (Telegram) or `events` (signed webhook) row,
//!   acknowledged after commit.
//! - [`store`]: the SQL, one function per statement.
//! - [`backoff`]: exponential backoff with jitter.
//! - [`identity`]: a worker name unique per process.

pub mod backoff;
pub mod config;
pub mod handler;
pub mod identity;
pub mod startup;
pub mod store;
