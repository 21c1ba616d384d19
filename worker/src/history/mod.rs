//! `sluice-worker history`: what the stored updates are for: replaying them through a handler,
//! exporting them, and erasing one person's data (docs/history.md).
//!
//! # Layout
//! - [`args`]: the commands' flags; times as RFC 3339 or a duration ago.
//! - [`query`]: the rows of a selection, a page at a time (keyset on `update_id`).
//! - [`replay`]: rows through the handler in order per chat, at a bounded rate.
//! - [`export`]: rows to stdout as JSON lines or CSV, in constant memory.
//! - [`erase`], [`queued`]: a person's rows, queued jobs and dead letters, deleted and audited.
//! - `progress`: the replay's progress bar, or plain lines when stderr is no terminal.

pub mod args;
pub mod erase;
pub mod export;
mod progress;
pub mod query;
pub mod queued;
pub mod replay;
