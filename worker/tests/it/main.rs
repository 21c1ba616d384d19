//! End-to-end tests: the real `sluice-worker` binary (and, where a test needs one, the real
//! `sluice-api` binary) against real Redis and Postgres, with a fresh database and key prefix per
//! test. One binary to keep link time down.

mod api;
mod budget;
mod cli_output;
mod common;
mod console_browser;
mod crash;
mod durability;
mod e2e;
mod forward;
mod forward_bots;
mod forward_signing;
mod frameworks;
mod fuzz;
mod handled;
mod handler_api;
mod history;
mod hooks;
mod lanes;
mod ordering;
mod otlp;
mod outage;
mod panics;
mod partitions;
mod pgbouncer;
mod proxy;
mod readiness;
mod refused;
mod renamed;
mod replies;
mod retry;
mod sizing;
mod target;
mod tls;
mod trace;
mod vacuum;
mod webhook_replies;
