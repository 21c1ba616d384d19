//! The check itself, on samples: an update is out of order when an update of its key that was
//! acknowledged before it was even sent was handled after it.
//!
//! Only pairs whose order is known are compared: Telegram sends a queue's next update after the
//! previous one was answered, but a load tool may have two updates of one chat in flight at
//! once, and then sluice's order between them is its own choice. Equal handling times are not a
//! violation: a batch of rows shares one transaction time.

use std::collections::HashMap;

use serde::Serialize;

use super::Key;

/// How many examples a report keeps (the largest lags).
pub const EXAMPLES: usize = 5;

/// One acknowledged update with its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub bot: String,
    pub key: Key,
    pub update_id: i64,
    /// When it was sent and when its 2xx answer arrived (any clock, the same for all samples;
    /// `acked` after `sent`, so an update never precedes itself). A ledger without times gives
    /// update_id order ([`Sample::by_update_id`]).
    pub sent: i64,
    pub acked: i64,
    /// When the worker finished with it (`handled_at`, else `processed_at`), µs since the epoch.
    pub handled_us: i64,
}

impl Sample {
    /// Times that order updates by update_id alone: `a` precedes `b` exactly when its id is lower.
    pub fn by_update_id(update_id: i64) -> (i64, i64) {
        (update_id.saturating_mul(2), update_id.saturating_mul(2) + 1)
    }
}

/// An update handled before one acknowledged ahead of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    pub bot: String,
    pub key: Key,
    /// Acknowledged first, handled last.
    pub earlier_update_id: i64,
    pub later_update_id: i64,
    /// How much sooner the later update was handled, ms.
    pub ahead_ms: f64,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderingReport {
    /// `chat` or `telegram`.
    pub mode: String,
    /// Ordering keys with at least one sample.
    pub keys: u64,
    /// Samples checked.
    pub updates: u64,
    /// Updates with an update of their key acknowledged before they were sent: the ones whose
    /// order is known (zero means the check proved nothing).
    pub comparable: u64,
    /// Updates handled before an update of their key acknowledged ahead of them.
    pub violations: u64,
    /// The largest violations.
    pub examples: Vec<Violation>,
    /// Acknowledged updates without a row or without a key, not checked.
    pub skipped: u64,
}

/// Checks every key of `samples`; `mode` only names the report.
pub fn check(mode: &str, samples: &[Sample]) -> OrderingReport {
    let mut groups: HashMap<(&str, Key), Vec<&Sample>> = HashMap::new();
    for s in samples {
        groups.entry((&s.bot, s.key)).or_default().push(s);
    }
    let mut report = OrderingReport {
        mode: mode.to_owned(),
        keys: groups.len() as u64,
        updates: samples.len() as u64,
        ..Default::default()
    };
    let mut examples = Vec::new();
    for group in groups.values_mut() {
        check_key(group, &mut report, &mut examples);
    }
    examples.sort_by(|a: &Violation, b| b.ahead_ms.total_cmp(&a.ahead_ms));
    examples.truncate(EXAMPLES);
    report.examples = examples;
    report
}

/// Walks one key's updates in the order they were sent, keeping the latest handling time among
/// those acknowledged before the current one was sent.
fn check_key(by_sent: &mut [&Sample], report: &mut OrderingReport, out: &mut Vec<Violation>) {
    by_sent.sort_by_key(|s| (s.sent, s.update_id));
    let mut by_acked = by_sent.to_vec();
    by_acked.sort_by_key(|s| (s.acked, s.update_id));
    let mut next = 0;
    let mut latest: Option<&Sample> = None;
    for s in by_sent.iter() {
        while next < by_acked.len() && by_acked[next].acked <= s.sent {
            let a = by_acked[next];
            if latest.is_none_or(|l| a.handled_us > l.handled_us) {
                latest = Some(a);
            }
            next += 1;
        }
        let Some(before) = latest else { continue };
        report.comparable += 1;
        if before.handled_us > s.handled_us {
            report.violations += 1;
            out.push(Violation {
                bot: s.bot.clone(),
                key: s.key,
                earlier_update_id: before.update_id,
                later_update_id: s.update_id,
                ahead_ms: (before.handled_us - s.handled_us) as f64 / 1000.0,
            });
            // Bounded: only the largest are kept.
            if out.len() > 4 * EXAMPLES {
                out.sort_by(|a, b| b.ahead_ms.total_cmp(&a.ahead_ms));
                out.truncate(EXAMPLES);
            }
        }
    }
}
