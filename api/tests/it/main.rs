//! The api's integration tests: the real router on port 0, real Redis, a fresh database and key
//! prefix per test. One binary, several modules, to keep link time down.

mod admin;
mod admission;
mod body_budget;
mod body_budget_bench;
mod bots_forward;
mod cli;
mod cli_output;
mod common;
mod console;
mod dedup;
mod durability;
mod hooks;
mod hooks_keys;
mod labels;
mod outage;
mod renamed;
mod secrets_at_rest;
mod secrets_leaks;
mod secrets_rotation;
mod server;
mod sign;
mod sources_cli;
mod telemetry;
mod unstorable;
mod webhook;
