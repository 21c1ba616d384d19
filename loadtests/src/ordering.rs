//! The ordering check: with per-chat ordering on, the updates of one ordering key must have been
//! handled in the order sluice acknowledged them. Read from the rows' own times after a run.
//!
//! # Layout
//! - this file: the mode (`SLUICE_ORDERING`'s values) and which key an update is ordered by;
//! - [`check`]: the pure check over samples (acknowledgement times, handling times);
//! - [`rows`]: the samples from a run's ledger and the `updates` table.

pub mod check;
pub mod rows;
#[cfg(test)]
mod tests;

use std::fmt;

use sluice_shared::job::order::queued_by_user;

pub use check::{OrderingReport, Sample, Violation, check};

/// The per-chat ordering a target runs with: the values of its `SLUICE_ORDERING` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ordering {
    /// One key per chat (the user when an update has no chat).
    Chat,
    /// Telegram's own queue keys: messages by chat, queries by user.
    Telegram,
    /// No ordering: nothing to check.
    Off,
}

/// What an update is ordered by. Chat and user ids live in different key spaces: a private
/// chat's id equals its user's, yet the two need not be one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Key {
    Chat(i64),
    User(i64),
}

impl Ordering {
    pub fn name(self) -> &'static str {
        match self {
            Ordering::Chat => "chat",
            Ordering::Telegram => "telegram",
            Ordering::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Option<Ordering> {
        match s {
            "chat" => Some(Ordering::Chat),
            "telegram" => Some(Ordering::Telegram),
            "off" => Some(Ordering::Off),
            _ => None,
        }
    }

    /// The key an update of `kind` with these ids is ordered by; None when it is not ordered
    /// (ordering off, no id, or a `poll`, keyed by a poll id the table does not keep).
    pub fn key(self, kind: &str, chat: Option<i64>, user: Option<i64>) -> Option<Key> {
        let (chat, user) = (chat.map(Key::Chat), user.map(Key::User));
        match self {
            Ordering::Off => None,
            Ordering::Chat => chat.or(user),
            Ordering::Telegram if kind == "poll" => None,
            // The workers' own table, so the check and the mechanism agree.
            Ordering::Telegram if queued_by_user(kind) => user.or(chat),
            Ordering::Telegram => chat.or(user),
        }
    }
}

impl fmt::Display for Ordering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Chat(id) => write!(f, "chat {id}"),
            Key::User(id) => write!(f, "user {id}"),
        }
    }
}
