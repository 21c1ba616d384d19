//! The contract between `sluice-api` and `sluice-worker`.
//!
//! # Layout
//! - [`config`]: typed settings shared by both binaries (database, redis, telemetry), parsed once.
//! - [`telegram`]: what a Telegram update is: its kind and where it keeps its chat and user.
//! - [`jsonb`]: whether Postgres `jsonb` will store a body (checked before it is acknowledged).
//! - [`lanes`]: the priority lanes, the rules that put an update in one, their queue names, and
//!   [`lanes::PerLane`], a value per lane.
//! - [`job`]: what a queue holds: one envelope for a Telegram update or a signed event (its
//!   [`job::Origin`]), its JSON formats, and what the enqueue needs of it.
//! - [`queue`]: the lanes' apalis-redis queues: connection and configuration, the one push
//!   ([`queue::Pusher`]: enqueue, duplicate check, re-queue, release), and the depth sampler
//!   ([`queue::depth`]: each lane's backlog, in-flight and dead jobs).
//! - [`dlq`]: the dead letters: storing, listing with filters and cursors, counting, replay and
//!   purge (the worker's `dlq` commands and the console share them).
//! - [`coalesce`]: batching the requests of concurrent callers into one round trip.
//! - [`redis_memory`]: Redis's `used_memory` and `maxmemory`, sampled with the depth.
//! - [`gcra`]: a GCRA rate and burst in ticks, shared by the Redis limiters.
//! - [`db`]: Postgres pool construction and the embedded migrations.
//! - [`tls`]: the rustls provider (ring) and the trusted roots (system + `SLUICE_CA_FILE`).
//! - [`reach`]: the start-up connection checks, and a failure's host, port and cause.
//! - [`metrics`]: every metric name and label key, and the Prometheus recorder.
//! - [`telemetry`]: tracing subscriber set-up (text or JSON lines, OTLP traces) and the trace
//!   context a job carries.
//! - [`forward_url`]: what a forward target URL may be, and how one is shown (never a token).
//! - [`mac`]: HMAC-SHA256 for signed webhooks and signed forwards.
//! - [`registry`]: the bots and signed-webhook sources in Postgres and the functions that change
//!   them (the api's `bots` and `sources` commands and the console share them).
//! - [`sealed`]: secrets at rest: the keys (`SLUICE_SECRETS_KEY`, its previous) that seal and
//!   open bot tokens and source secrets stored in Postgres.
//! - [`secret`]: HMAC keys held in memory, redacted from `Debug`.
//! - [`shutdown`]: the SIGTERM / Ctrl-C signal.
//! - [`serve`]: the HTTP server loop with header/idle timers and a connection cap.
//! - [`admin`]: the admin listener (`/healthz`, `/readyz`, `/metrics`) both binaries serve.
//! - [`healthcheck`]: the `healthcheck` command of both binaries (a GET of their own admin port).
//! - [`output`]: `--output text|json` of the list commands.

pub mod admin;
pub mod coalesce;
pub mod config;
pub mod db;
pub mod dlq;
pub mod forward_url;
pub mod gcra;
pub mod healthcheck;
pub mod job;
pub mod jsonb;
pub mod lanes;
pub mod mac;
pub mod metrics;
pub mod output;
pub mod queue;
pub mod reach;
pub mod redis_memory;
pub mod registry;
pub mod sealed;
pub mod secret;
pub mod serve;
pub mod shutdown;
pub mod telegram;
pub mod telemetry;
pub mod tls;
