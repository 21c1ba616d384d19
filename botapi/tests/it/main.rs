//! The Bot API client against real Redis and Postgres and the Telegram stand-in.

mod client;
mod common;
mod limiter;
mod measure;
mod shared_limits;
