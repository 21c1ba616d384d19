//! The `history` commands' flags: which stored updates (bot, chat, kind, time range), and each
//! command's own settings.

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Subcommand};
use sluice_shared::config::{DatabaseConfig, RedisConfig, TelemetryConfig, parse_duration};

use crate::config::WorkerConfig;

#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Re-run stored updates through the configured handler (SLUICE_HANDLER, or the library's),
    /// in update_id order per chat, at a bounded rate. Nothing is written to `updates`.
    Replay(Box<ReplayArgs>),
    /// Stream stored updates to stdout as JSON lines or CSV, in update_id order.
    Export(ExportArgs),
    /// Delete one person's updates, queued jobs and dead letters (a data-protection request).
    Erase(EraseArgs),
}

/// Which stored updates a command reads: one bot, a time range of `received_at`, optionally one
/// chat and one kind.
#[derive(clap::Args, Debug, Clone)]
pub struct Selection {
    /// The bot's registered name.
    #[arg(long)]
    pub bot: String,
    /// Only this chat (e.g. -1001234567890).
    #[arg(long, allow_hyphen_values = true)]
    pub chat: Option<i64>,
    /// Only updates of this kind (message, callback_query, ...).
    #[arg(long)]
    pub kind: Option<String>,
    /// Received at or after: an RFC 3339 time (2026-12-01T00:00:00Z) or a duration ago (2h, 7d).
    #[arg(long, value_parser = parse_instant)]
    pub since: DateTime<Utc>,
    /// Received before (same forms as --since); default: when the command starts.
    #[arg(long, value_parser = parse_instant)]
    pub until: Option<DateTime<Utc>>,
}

#[derive(clap::Args, Debug)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Handler calls per second at most, over all chats.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,
    /// Chats replayed at once. Each chat's updates go through one of these in update_id order;
    /// 1 replays everything in update_id order, one at a time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub parallel: u32,
    /// Print how many updates match, and their update_id and time range, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The worker's settings: the handler, its target and secrets, the database, retries.
    #[command(flatten)]
    pub cfg: WorkerConfig,
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// jsonl: one JSON object per line; csv: RFC 4180 with a header line.
    #[arg(long, default_value = "jsonl")]
    pub format: ExportFormat,
    #[command(flatten)]
    pub db: DatabaseConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("who").required(true).args(["chat", "user"])))]
pub struct EraseArgs {
    /// The bot whose data is erased.
    #[arg(long)]
    pub bot: String,
    /// Every update of this chat.
    #[arg(long, allow_hyphen_values = true)]
    pub chat: Option<i64>,
    /// Every update this user sent, and their private chat with the bot (its id is theirs).
    #[arg(long)]
    pub user: Option<i64>,
    /// Who asked, for the audit line (a ticket id, an operator); default: $USER.
    #[arg(long)]
    pub requested_by: Option<String>,
    #[command(flatten)]
    pub db: DatabaseConfig,
    #[command(flatten)]
    pub redis: RedisConfig,
    #[command(flatten)]
    pub telemetry: TelemetryConfig,
}

/// An instant given as RFC 3339, or as a duration before now ("2h", "7d", "90m").
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let ago = parse_duration(s).map_err(|e| {
        format!("neither an RFC 3339 time (2026-12-01T00:00:00Z) nor a duration ago (2h): {e}")
    })?;
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .ok_or_else(|| "too long ago".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_rfc3339_or_a_duration_ago() {
        let t = parse_instant("2026-12-01T10:00:00+01:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T09:00:00+00:00");
        let ago = Utc::now() - parse_instant("2h").unwrap();
        assert!((ago.num_seconds() - 7200).abs() < 5, "{ago}");
        assert!(parse_instant("yesterday").is_err());
        assert!(parse_instant("5").is_err(), "a duration needs its unit");
        assert!(parse_instant("100000000000d").is_err());
    }
}
