//! What a dead-letter query asks for: the filter, the opaque cursor of a page, and the target of
//! a replay or purge (ids, or a filter whose `until` is pinned).

use std::fmt;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::lanes::Lane;

use super::DlqError;

/// Which sender's letters: a bot, a source, or either by one name (the console's single field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginFilter {
    Bot(String),
    Source(String),
    /// A bot or a source of this name.
    Either(String),
}

impl OriginFilter {
    /// The origin tags (`bot:<name>`, `source:<name>`) whose indexes hold the matching letters.
    pub(super) fn tags(&self) -> Vec<String> {
        match self {
            OriginFilter::Bot(n) => vec![format!("bot:{n}")],
            OriginFilter::Source(n) => vec![format!("source:{n}")],
            OriginFilter::Either(n) => vec![format!("bot:{n}"), format!("source:{n}")],
        }
    }
}

/// Which dead letters: every field narrows, `None` does not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterFilter {
    pub lane: Option<Lane>,
    pub origin: Option<OriginFilter>,
    /// Text the reason contains, case-insensitive for ASCII letters (the match runs in Redis's
    /// Lua, whose `string.lower` knows only ASCII).
    pub reason: Option<String>,
    /// Died at or after (Unix ms).
    pub since_ms: Option<i64>,
    /// Died before (Unix ms).
    pub until_ms: Option<i64>,
}

impl DeadLetterFilter {
    /// The lanes this filter looks in.
    pub(super) fn lanes(&self) -> Vec<Lane> {
        self.lane.map_or(Lane::ALL.to_vec(), |l| vec![l])
    }

    /// The reason text as the script compares it (blank means no reason filter).
    pub(super) fn needle(&self) -> String {
        self.reason
            .as_deref()
            .map(|r| r.trim().to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// The same filter, also ending at `until_ms` (the earlier bound wins): what a confirmation
    /// pins so that letters dying after its count are not swept up by the action.
    pub fn pinned(mut self, until_ms: i64) -> PinnedFilter {
        self.until_ms = Some(self.until_ms.map_or(until_ms, |u| u.min(until_ms)));
        PinnedFilter(self)
    }
}

/// A filter with an end in time: the only filter a bulk replay or purge accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedFilter(DeadLetterFilter);

impl PinnedFilter {
    pub fn filter(&self) -> &DeadLetterFilter {
        &self.0
    }
}

/// What a replay or purge acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// These letters, in whichever lane they are.
    Ids(Vec<String>),
    /// Every letter the filter matches, up to its pinned end.
    Filter(PinnedFilter),
}

/// Where the next page starts: just after the letter (death ms, lane, id) examined last. Opaque
/// to callers (URL-safe text); stable while letters are added and removed, since it names a
/// position in the order, not an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub(super) ms: i64,
    pub(super) rank: u8,
    pub(super) id: String,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = format!("{}.{}.{}", self.ms, self.rank, self.id);
        f.write_str(&URL_SAFE_NO_PAD.encode(raw))
    }
}

impl std::str::FromStr for Cursor {
    type Err = DlqError;

    fn from_str(s: &str) -> Result<Cursor, DlqError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| DlqError::BadCursor)?;
        let raw = String::from_utf8(bytes).map_err(|_| DlqError::BadCursor)?;
        let mut parts = raw.splitn(3, '.');
        let (ms, rank, id) = (parts.next(), parts.next(), parts.next());
        let ms = ms.and_then(|m| m.parse().ok()).ok_or(DlqError::BadCursor)?;
        let rank = rank
            .and_then(|r| r.parse().ok())
            .filter(|r: &u8| usize::from(*r) < Lane::ALL.len())
            .ok_or(DlqError::BadCursor)?;
        let id = id.filter(|i| !i.is_empty()).ok_or(DlqError::BadCursor)?;
        Ok(Cursor {
            ms,
            rank,
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_and_garbage_is_refused() {
        let c = Cursor {
            ms: 1_796_279_800_000,
            rank: 2,
            id: "01KB0000000000000000000000".into(),
        };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        for bad in ["", "!!", "MTIz", &URL_SAFE_NO_PAD.encode("1.7.x")] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn pinning_keeps_the_earlier_end() {
        let f = DeadLetterFilter {
            until_ms: Some(10),
            ..Default::default()
        };
        assert_eq!(f.clone().pinned(20).filter().until_ms, Some(10));
        assert_eq!(f.pinned(5).filter().until_ms, Some(5));
        assert_eq!(
            DeadLetterFilter::default().pinned(7).filter().until_ms,
            Some(7)
        );
    }
}
