//! What the API and the pages send to pick dead letters, checked once and turned into
//! `sluice_shared::dlq`'s filter and target. A bad field is a [`ConsoleError::BadRequest`] naming
//! it; nothing at all is never read as "every letter" by the API (it asks for `all: true`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use sluice_console_pages::query;
use sluice_shared::{
    dlq::{DeadLetterFilter, OriginFilter, Target},
    lanes::Lane,
};

use crate::error::ConsoleError;

/// The filter fields, as the API's query parameters and JSON bodies name them. Blank is unset.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilterFields {
    /// `high`, `normal` or `low`.
    #[serde(default)]
    pub lane: Option<String>,
    /// A bot or a source of this name.
    #[serde(default)]
    pub origin: Option<String>,
    /// A bot of this name.
    #[serde(default)]
    pub bot: Option<String>,
    /// A source of this name.
    #[serde(default)]
    pub source: Option<String>,
    /// Text the reason contains (ASCII letters case-insensitive).
    #[serde(default)]
    pub reason: Option<String>,
    /// Died at or after: RFC 3339, or `YYYY-MM-DDTHH:MM[:SS[.fff]]` in UTC.
    #[serde(default)]
    pub since: Option<String>,
    /// Died before, same forms.
    #[serde(default)]
    pub until: Option<String>,
}

impl From<&query::DeadLetterFilter> for FilterFields {
    /// The pages' filter: one "bot or source" field.
    fn from(q: &query::DeadLetterFilter) -> FilterFields {
        FilterFields {
            lane: q.lane.clone(),
            origin: q.origin.clone(),
            bot: None,
            source: None,
            reason: q.reason.clone(),
            since: q.since.clone(),
            until: q.until.clone(),
        }
    }
}

fn set(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl FilterFields {
    /// The shared filter, or a 400 naming the field that is wrong.
    pub fn filter(&self) -> Result<DeadLetterFilter, ConsoleError> {
        let lane = set(&self.lane)
            .map(|l| l.parse::<Lane>())
            .transpose()
            .map_err(|e| ConsoleError::BadRequest(e.to_string()))?;
        let origin = match (set(&self.origin), set(&self.bot), set(&self.source)) {
            (None, None, None) => None,
            (Some(n), None, None) => Some(OriginFilter::Either(n)),
            (None, Some(n), None) => Some(OriginFilter::Bot(n)),
            (None, None, Some(n)) => Some(OriginFilter::Source(n)),
            _ => return Err(bad("give one of origin, bot and source")),
        };
        Ok(DeadLetterFilter {
            lane,
            origin,
            reason: set(&self.reason),
            since_ms: instant("since", &self.since)?,
            until_ms: instant("until", &self.until)?,
        })
    }
}

fn bad(text: &str) -> ConsoleError {
    ConsoleError::BadRequest(text.to_owned())
}

/// A time as Unix ms: RFC 3339, or what a `datetime-local` field sends, read as UTC.
fn instant(field: &str, v: &Option<String>) -> Result<Option<i64>, ConsoleError> {
    let Some(s) = set(v) else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(&s) {
        return Ok(Some(t.timestamp_millis()));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&s, format) {
            return Ok(Some(t.and_utc().timestamp_millis()));
        }
    }
    Err(ConsoleError::BadRequest(format!(
        "{field} is not a time (2026-12-03T12:00:00Z, or 2026-12-03T12:00 in UTC)"
    )))
}

/// How the pages write a pinned end (`until`): UTC to the millisecond, which [`instant`] reads.
pub fn form_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

/// The API's target: ids, or a filter pinned to `now_ms` (letters dying while the action runs
/// are left alone); an empty filter only with `all`.
pub fn api_target(
    ids: Vec<String>,
    fields: &FilterFields,
    all: bool,
    now_ms: i64,
) -> Result<Target, ConsoleError> {
    let filter = fields.filter()?;
    let filtered = filter != DeadLetterFilter::default();
    match (ids.is_empty(), filtered || all) {
        (false, false) => Ok(Target::Ids(ids)),
        (true, true) => Ok(Target::Filter(filter.pinned(now_ms))),
        (false, true) => Err(bad("give ids or a filter (or all), not both")),
        (true, false) => Err(bad("give ids, a filter, or \"all\": true")),
    }
}

/// The pages' target: the confirmation's letter, or its filter pinned to `now_ms`. The
/// confirmation always sends a filter's end (pinned there), so a form with neither an id nor a
/// filter did not come from it and is refused rather than read as "every letter".
pub fn page_target(
    id: Option<String>,
    filter: &query::DeadLetterFilter,
    now_ms: i64,
) -> Result<Target, ConsoleError> {
    match set(&id) {
        Some(id) => Ok(Target::Ids(vec![id])),
        None if filter.is_empty() => Err(bad("no letter chosen: confirm from the list")),
        None => Ok(Target::Filter(
            FilterFields::from(filter).filter()?.pinned(now_ms),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_rfc3339_or_utc_fields_and_garbage_names_its_field() {
        let at = |s: &str| instant("since", &Some(s.to_owned())).unwrap();
        let noon = Some(1_796_299_200_000);
        assert_eq!(at("2026-12-03T12:00:00Z"), noon);
        assert_eq!(at("2026-12-03T13:00:00+01:00"), noon);
        assert_eq!(at("2026-12-03T12:00"), noon);
        assert_eq!(at("2026-12-03T12:00:00"), noon);
        assert_eq!(at("2026-12-03T12:00:00.250"), Some(1_796_299_200_250));
        assert_eq!(at(" "), None);
        let pinned = form_time(DateTime::from_timestamp_millis(1_796_299_200_250).unwrap());
        assert_eq!(at(&pinned), Some(1_796_299_200_250));
        let err = instant("until", &Some("noon".into())).unwrap_err();
        assert!(err.to_string().starts_with("until is not a time"), "{err}");
    }

    #[test]
    fn the_api_needs_ids_or_a_filter_or_all_and_never_both() {
        let none = FilterFields::default();
        let lane = FilterFields {
            lane: Some("low".into()),
            ..Default::default()
        };
        let ids = || vec!["01J".to_owned()];
        assert_eq!(
            api_target(ids(), &none, false, 5).unwrap(),
            Target::Ids(ids())
        );
        let Target::Filter(f) = api_target(vec![], &lane, false, 5).unwrap() else {
            panic!("a filter")
        };
        assert_eq!(
            (f.filter().lane, f.filter().until_ms),
            (Some(Lane::Low), Some(5))
        );
        assert!(api_target(vec![], &none, true, 5).is_ok());
        assert!(api_target(vec![], &none, false, 5).is_err());
        assert!(api_target(ids(), &lane, false, 5).is_err());
        let both = FilterFields {
            bot: Some("a".into()),
            source: Some("b".into()),
            ..Default::default()
        };
        assert!(both.filter().is_err());
        let lane = FilterFields {
            lane: Some("urgent".into()),
            ..Default::default()
        };
        assert!(
            lane.filter()
                .unwrap_err()
                .to_string()
                .contains("unknown lane")
        );
    }

    #[test]
    fn a_page_form_without_id_or_filter_is_refused() {
        let empty = query::DeadLetterFilter::default();
        assert!(page_target(None, &empty, 5).is_err());
        assert!(page_target(Some(" ".into()), &empty, 5).is_err());
        assert_eq!(
            page_target(Some("01J".into()), &empty, 5).unwrap(),
            Target::Ids(vec!["01J".into()])
        );
        let until = query::DeadLetterFilter {
            until: Some("2026-12-03T12:00:00.250".into()),
            ..Default::default()
        };
        let Target::Filter(f) = page_target(None, &until, i64::MAX).unwrap() else {
            panic!("a filter")
        };
        assert_eq!(f.filter().until_ms, Some(1_796_299_200_250));
    }
}
