//! End-to-end tests: the real `sluice-worker` binary (and, where a test needs one, the real
//! `sluice-api` binary) against real Redis and Postgres, with a fresh database and key prefix per
//! test. One binary to keep link time down.

mod api;
mod budget;
mod common;
mod crash;
mod durability;
mod e2e;
mod forward;
mod forward_signing;
mod fuzz;
mod handled;
mod handler_api;
mod hooks;
mod lanes;
mod outage;
mod panics;
mod pgbouncer;
mod refused;
mod renamed;
mod retry;
mod sizing;
mod target;
mod tls;
mod vacuum;
