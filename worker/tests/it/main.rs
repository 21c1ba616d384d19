//! End-to-end tests: the real `sluice-worker` binary (and the api router) against real Redis and
//! Postgres, with a fresh database and key prefix per test. One binary to keep link time down.

mod budget;
mod common;
mod crash;
mod e2e;
mod fuzz;
mod handler_api;
mod hooks;
mod lanes;
mod outage;
mod pgbouncer;
mod retry;
mod sizing;
mod vacuum;
