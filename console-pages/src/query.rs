//! What the dead-letter pages send back: the filter (GET parameters of the list, repeated by its
//! pagination links) and the target of a replay or purge. The console deserializes these same
//! structs, so a field's name lives in one place.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::paths;

/// The filter, as the form sends it and the pagination links repeat it. Blank fields are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterFilter {
    #[serde(
        default,
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub lane: Option<String>,
    /// A bot or source name.
    #[serde(
        default,
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub origin: Option<String>,
    /// Text the reason contains.
    #[serde(
        default,
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub reason: Option<String>,
    /// Died at or after, `YYYY-MM-DDTHH:MM[:SS]` in UTC (what `datetime-local` sends).
    #[serde(
        default,
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub since: Option<String>,
    /// Died before, same format.
    #[serde(
        default,
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub until: Option<String>,
}

/// The list page's whole query: the filter and where the page starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLettersQuery {
    #[serde(flatten)]
    pub filter: DeadLetterFilter,
    #[serde(
        default,
        deserialize_with = "blank_is_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub cursor: Option<String>,
}

/// The filter's time bounds: died at or after `since`, before `until`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// A `since`/`until` value that is not a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTime(pub &'static str);

impl DeadLetterFilter {
    /// `since` and `until` as instants; the console calls this and answers 400 on an error.
    pub fn time_range(&self) -> Result<TimeRange, BadTime> {
        let parse = |field: &'static str, v: &Option<String>| match v {
            None => Ok(None),
            Some(s) => NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
                .map(|t| Some(t.and_utc()))
                .map_err(|_| BadTime(field)),
        };
        Ok(TimeRange {
            since: parse("since", &self.since)?,
            until: parse("until", &self.until)?,
        })
    }

    pub fn is_empty(&self) -> bool {
        *self == DeadLetterFilter::default()
    }

    /// The filter in words, for the confirmation page.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |label: &str, v: &Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{label} {v:?}"));
            }
        };
        add("lane", &self.lane);
        add("from", &self.origin);
        add("reason containing", &self.reason);
        add("died since", &self.since);
        add("died before", &self.until);
        if parts.is_empty() {
            "every dead letter".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

fn blank_is_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<String>::deserialize(d)?;
    Ok(v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()))
}

/// What a confirmation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Replay,
    Purge,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::Replay => "Replay",
            Action::Purge => "Purge",
        }
    }

    /// Where the confirmed form posts.
    pub fn path(self) -> &'static str {
        match self {
            Action::Replay => paths::DEAD_LETTERS_REPLAY,
            Action::Purge => paths::DEAD_LETTERS_PURGE,
        }
    }
}

/// The confirmation's query (`GET` [`paths::DEAD_LETTERS_CONFIRM`]) and, without `action`, the
/// confirmed form's fields: one letter by `id`, or every letter the filter matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmQuery {
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(flatten)]
    pub filter: DeadLetterFilter,
}
