//! Listing and counting dead letters: one call of `scan.lua` per page, which merges the sets the
//! filter names (a lane's zset, or the origin indexes) newest first and stops after a bounded
//! number of letters, so no call loads a whole set.

use std::sync::LazyLock;

use redis::Script;

use super::{Cursor, DeadLetter, DeadLetterFilter, DeadLetters, DlqError, decode};
use crate::lanes::Lane;

static SCAN: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scan.lua")));

/// Letters examined per call when the reason is filtered (every letter matches otherwise, so
/// a page examines no more than it returns). Measured: see docs/performance.md, "Console at
/// scale".
pub const SCAN_BUDGET: u64 = 5_000;

/// One page of dead letters, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    pub letters: Vec<DeadLetter>,
    /// Where the next page starts; `None` after the last letter. A page filtered by reason may
    /// hold fewer letters than asked (even none) and still have a next page: it stopped after
    /// examining `scanned` letters.
    pub next: Option<Cursor>,
    /// How many letters this page examined.
    pub scanned: u64,
}

/// How many dead letters match a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Matching letters found: all of them when `exact`, else at least this many.
    pub matching: u64,
    /// Whether every candidate letter was examined (always, without a reason filter).
    pub exact: bool,
    /// Letters examined (0 when counted from the sets' sizes, without a reason filter).
    pub scanned: u64,
}

/// What the script should answer per letter found.
#[derive(Clone, Copy)]
pub(super) enum Mode {
    Json,
    Ids,
    Count,
}

/// One call's answer.
pub(super) struct Scanned {
    pub scanned: u64,
    pub found: u64,
    pub next: Option<Cursor>,
    /// (lane, id, JSON in `Mode::Json`).
    pub items: Vec<(Lane, String, Option<String>)>,
}

fn score(bound: Option<i64>, open: &str) -> String {
    bound.map_or(open.to_owned(), |b| b.to_string())
}

impl DeadLetters {
    /// The sets a filter's letters are in, with their lane: the lane's zset, or the filter's
    /// origin indexes in each lane.
    fn sources(&self, filter: &DeadLetterFilter) -> Vec<(Lane, String)> {
        let mut out = Vec::new();
        for lane in filter.lanes() {
            match &filter.origin {
                None => out.push((lane, self.index(lane))),
                Some(o) => out.extend(
                    o.tags()
                        .into_iter()
                        .map(|t| (lane, format!("{}{t}", self.by_origin(lane)))),
                ),
            }
        }
        out
    }

    pub(super) async fn scan(
        &self,
        filter: &DeadLetterFilter,
        cursor: Option<&Cursor>,
        limit: u64,
        budget: u64,
        mode: Mode,
    ) -> Result<Scanned, DlqError> {
        let sources = self.sources(filter);
        let mut call = SCAN.prepare_invoke();
        for (lane, set) in &sources {
            call.key(set).key(self.meta(*lane)).key(self.entries(*lane));
        }
        call.arg(limit)
            .arg(budget.max(1))
            .arg(score(filter.since_ms, "-inf"))
            .arg(score(filter.until_ms, "+inf"))
            .arg(cursor.map(|c| c.ms.to_string()).unwrap_or_default())
            .arg(cursor.map_or(0, |c| c.rank))
            .arg(cursor.map(|c| c.id.as_str()).unwrap_or_default())
            .arg(filter.needle())
            .arg(match mode {
                Mode::Json => "json",
                Mode::Ids => "ids",
                Mode::Count => "count",
            });
        for (lane, _) in &sources {
            call.arg(lane.index());
        }
        let mut conn = self.conn.clone();
        let raw: Vec<String> = call.invoke_async(&mut conn).await?;
        parse(raw, mode)
    }

    /// One page of the letters `filter` matches, newest first, from `cursor` (or the newest):
    /// at most `limit` letters, and, filtering by reason, at most the scan budget examined
    /// ([`SCAN_BUDGET`] unless [`with_scan_budget`](DeadLetters::with_scan_budget) set it).
    pub async fn list(
        &self,
        filter: &DeadLetterFilter,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, DlqError> {
        let s = self
            .scan(filter, cursor, limit as u64, self.scan_budget, Mode::Json)
            .await?;
        let letters = s
            .items
            .into_iter()
            .filter_map(|(_, _, json)| json.as_deref().and_then(decode))
            .collect();
        Ok(Page {
            letters,
            next: s.next,
            scanned: s.scanned,
        })
    }

    /// How many letters `filter` matches: exact from the sets' sizes, or, filtering by reason,
    /// from examining at most `budget` letters (then possibly a lower bound: see [`Count`]).
    pub async fn count(&self, filter: &DeadLetterFilter, budget: u64) -> Result<Count, DlqError> {
        if filter.needle().is_empty() {
            let mut pipe = redis::pipe();
            for (_, set) in self.sources(filter) {
                let since = score(filter.since_ms, "-inf");
                let until = filter
                    .until_ms
                    .map_or("+inf".to_owned(), |u| format!("({u}"));
                pipe.zcount(set, since, until);
            }
            let mut conn = self.conn.clone();
            let counts: Vec<u64> = pipe.query_async(&mut conn).await?;
            return Ok(Count {
                matching: counts.iter().sum(),
                exact: true,
                scanned: 0,
            });
        }
        let s = self
            .scan(filter, None, u64::MAX >> 12, budget, Mode::Count)
            .await?;
        Ok(Count {
            matching: s.found,
            exact: s.next.is_none(),
            scanned: s.scanned,
        })
    }
}

fn parse(raw: Vec<String>, mode: Mode) -> Result<Scanned, DlqError> {
    let bad = || {
        DlqError::Redis(redis::RedisError::from(std::io::Error::other(
            "scan.lua answered an unexpected shape",
        )))
    };
    let num = |s: &String| s.parse::<u64>().map_err(|_| bad());
    if raw.len() < 6 {
        return Err(bad());
    }
    let (scanned, found, more) = (num(&raw[0])?, num(&raw[1])?, &raw[2] == "1");
    let next = match more && !raw[3].is_empty() {
        true => Some(Cursor {
            ms: raw[3].parse::<f64>().map_err(|_| bad())? as i64,
            rank: raw[4].parse().map_err(|_| bad())?,
            id: raw[5].clone(),
        }),
        false => None,
    };
    let width = match mode {
        Mode::Json => 3,
        Mode::Ids => 2,
        Mode::Count => 1,
    };
    let mut items = Vec::new();
    if !matches!(mode, Mode::Count) {
        for chunk in raw[6..].chunks(width) {
            let rank: usize = chunk[0].parse().map_err(|_| bad())?;
            let lane = *Lane::ALL.get(rank).ok_or_else(bad)?;
            items.push((lane, chunk[1].clone(), chunk.get(2).cloned()));
        }
    }
    Ok(Scanned {
        scanned,
        found,
        next,
        items,
    })
}
