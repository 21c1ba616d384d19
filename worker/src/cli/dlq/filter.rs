//! The filter flags every `dlq` command takes (`--lane --bot --source --reason --since --until`),
//! turned into the shared [`DeadLetterFilter`] so the CLI and the console ask the same question.

use chrono::{DateTime, NaiveDateTime, Utc};
use sluice_shared::{
    config::parse_duration,
    dlq::{DeadLetterFilter, OriginFilter},
    lanes::Lane,
};

#[derive(clap::Args, Debug, Default, Clone)]
pub struct FilterArgs {
    /// Only this lane (high, normal, low).
    #[arg(long)]
    pub lane: Option<Lane>,
    /// Only this bot's dead letters.
    #[arg(long, conflicts_with = "source")]
    pub bot: Option<String>,
    /// Only this signed-webhook source's dead letters.
    #[arg(long)]
    pub source: Option<String>,
    /// Only dead letters whose reason contains this text (case-insensitive for ASCII letters).
    #[arg(long)]
    pub reason: Option<String>,
    /// Died at or after: a UTC time (`2026-12-03T12:00:00Z`, `2026-12-03T12:00`) or a duration
    /// ago (`2h`).
    #[arg(long, value_parser = parse_when)]
    pub since: Option<i64>,
    /// Died before: same forms as `--since`.
    #[arg(long, value_parser = parse_when)]
    pub until: Option<i64>,
}

impl FilterArgs {
    pub fn filter(&self) -> DeadLetterFilter {
        let origin = match (&self.bot, &self.source) {
            (Some(b), _) => Some(OriginFilter::Bot(b.clone())),
            (None, Some(s)) => Some(OriginFilter::Source(s.clone())),
            (None, None) => None,
        };
        DeadLetterFilter {
            lane: self.lane,
            origin,
            reason: self.reason.clone().filter(|r| !r.trim().is_empty()),
            since_ms: self.since,
            until_ms: self.until,
        }
    }
}

/// A time as Unix ms: RFC 3339, `YYYY-MM-DDTHH:MM[:SS]` in UTC, or a duration before now.
pub fn parse_when(s: &str) -> Result<i64, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    let ago = parse_duration(s).map_err(|_| {
        format!("{s:?} is neither a UTC time (2026-12-03T12:00:00Z) nor a duration ago (2h)")
    })?;
    Ok(Utc::now().timestamp_millis() - ago.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_or_as_a_duration_ago() {
        assert_eq!(parse_when("2026-12-03T12:00:00Z"), Ok(1_796_299_200_000));
        assert_eq!(parse_when("2026-12-03T12:00"), Ok(1_796_299_200_000));
        let ago = Utc::now().timestamp_millis() - parse_when("2h").unwrap();
        assert!((7_199_000..7_201_000).contains(&ago), "{ago}");
        assert!(parse_when("noon").is_err());
    }
}
