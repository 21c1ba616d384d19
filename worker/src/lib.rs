//! sluice-worker: drains the lanes' Redis queues into Postgres, and runs a bot's own logic.
//!
//! Use it as a binary (`sluice-worker`, built-in handlers `store` and `forward`) or as a library:
//! implement [`handler::UpdateHandler`] and call [`run`] from your `main` to get the same CLI,
//! config, metrics, retries and dead letters.
//!
//! # Layout
//! - [`handler`]: the handler API ([`handler::UpdateHandler`], [`handler::Update`] and its
//!   [`handler::Origin`], errors).
//! - [`bot_api`]: the Bot API client handlers get (`ctx.bot_api`), built from the settings.
//! - [`proxy`]: the Bot API proxy (`SLUICE_BOTAPI_PROXY_ADDR`): frameworks' own calls through
//!   the same limiter.
//! - [`handlers`]: the built-in handlers (`store`, `forward`).
//! - [`job`]: one job start to finish: capacity, row, handler, then ack / retry / dead letter.
//! - [`scheduler`]: the process-wide capacity shared by the lanes by weight.
//! - [`rows`], [`store`]: a job's row by its origin: batched, idempotent inserts into `updates`;
//!   signed events into `events`.
//! - [`handled`]: `handled_at`, so a handler never runs twice for an update it finished.
//! - [`retry`], [`backoff`]: our retry policy (a retried job goes back through
//!   `sluice_shared::queue::Pusher::requeue`).
//! - [`order`]: per-key ordering: start in turn, park early jobs, wake the next, hold limits.
//! - [`poll`]: a poll interval that keeps ticking (works around apalis-core).
//! - [`promote`]: due jobs to the active list in bounded chunks (works around apalis-redis).
//! - [`history`]: `history replay | export | erase` over the stored updates.
//! - [`retention`]: deleting them after `SLUICE_DLQ_RETENTION`.
//! - [`vacuum`]: keeping Redis memory flat.
//! - [`partitions`]: the daily partitions of `updates` and `events`: ahead, retention
//!   (`SLUICE_RETENTION`, `sluice-worker retention run`), their gauges.
//! - [`startup`]: one supervised apalis worker per lane, admin listener, graceful shutdown.
//! - [`supervise`]: restarting a lane's consumer that died; liveness when it keeps dying.
//! - [`gate`]: no fetching and no attempts used while Postgres is down; [`vitals`]: the probes.
//! - [`config`], [`cli`]: every setting, parsed once; the command line.
//! - [`identity`]: a worker name unique per process.

pub mod backoff;
pub mod bot_api;
pub mod cli;
pub mod config;
pub mod gate;
pub mod handled;
pub mod handler;
pub mod handlers;
pub mod history;
pub mod identity;
pub mod job;
pub mod order;
pub mod partitions;
pub mod poll;
pub mod promote;
pub mod proxy;
pub mod retention;
pub mod retry;
pub mod rows;
pub mod scheduler;
pub mod startup;
pub mod store;
pub mod supervise;
pub mod vacuum;
pub mod vitals;

/// Runs `sluice-worker`'s command line with your handler; returns the process exit code.
pub async fn run<H: handler::UpdateHandler>(handler: H) -> std::process::ExitCode {
    cli::main_with(handler).await
}
