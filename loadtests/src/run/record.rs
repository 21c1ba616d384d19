//! Answers as they arrive: counts, latency histograms, the ledger, checks.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::profile::Stream;
use crate::summary::{LedgerEntry, Requests};

use super::item::Item;

/// Answers, as they arrive.
pub(super) struct Recorder {
    pub(super) seconds: Vec<SecondRec>,
    pub(super) corrected: Histogram<u64>,
    pub(super) raw: Histogram<u64>,
    pub(super) requests: Requests,
    pub(super) failed: u64,
    pub(super) limited: u64,
    pub(super) dropped: u64,
    pub(super) ledger: Vec<LedgerEntry>,
    pub(super) checks: BTreeMap<&'static str, (u64, u64)>,
    pub(super) quiet: (u64, u64),
    pub(super) flood: (u64, u64),
    pub(super) last_answer: Option<Instant>,
}

#[derive(Default)]
pub(super) struct SecondRec {
    pub(super) by_status: BTreeMap<String, u64>,
    pub(super) hist: Option<Histogram<u64>>,
}

pub(super) fn histogram() -> Histogram<u64> {
    // Microseconds up to 10 minutes at 3 significant digits.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

impl Recorder {
    pub(super) fn new() -> Recorder {
        Recorder {
            seconds: Vec::new(),
            corrected: histogram(),
            raw: histogram(),
            requests: Requests::default(),
            failed: 0,
            limited: 0,
            dropped: 0,
            ledger: Vec::new(),
            checks: BTreeMap::new(),
            quiet: (0, 0),
            flood: (0, 0),
            last_answer: None,
        }
    }

    fn check(&mut self, name: &'static str, ok: bool) {
        let e = self.checks.entry(name).or_default();
        if ok {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
}

/// The result of one request, as a sender saw it.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) timeout: bool,
    /// The Retry-After header in seconds, when present and an integer (Telegram ignores dates).
    pub(super) retry_after: Option<u64>,
    pub(super) body_ok: bool,
    pub(super) duplicate: bool,
}

pub(super) fn record(
    recorder: &Mutex<Recorder>,
    start: Instant,
    item: &Item,
    ledger_at: usize,
    a: Answer,
    sent: Instant,
    done: Instant,
) {
    let corrected = done.saturating_duration_since(item.due).as_micros() as u64;
    let raw = done.saturating_duration_since(sent).as_micros() as u64;
    let second = done.saturating_duration_since(start).as_secs() as usize;
    let ok = (200..300).contains(&a.status);
    let flood = item.stream == Stream::Flood;
    let expected = ok || (flood && a.status == 429);
    let mut rec = recorder.lock().expect("not poisoned");
    let entry = &mut rec.ledger[ledger_at];
    entry.status = a.status;
    entry.sent_us = Some(sent.saturating_duration_since(start).as_micros() as u64);
    entry.answered_us = Some(done.saturating_duration_since(start).as_micros() as u64);
    rec.last_answer = Some(done);
    rec.requests.total += 1;
    let key = if a.status == 0 {
        if a.timeout {
            rec.requests.timeouts += 1;
        } else {
            rec.requests.transport_errors += 1;
        }
        "error".to_owned()
    } else {
        *rec.requests
            .by_status
            .entry(a.status.to_string())
            .or_default() += 1;
        a.status.to_string()
    };
    if a.duplicate {
        rec.requests.duplicates_answered += 1;
    }
    if !expected {
        rec.failed += 1;
    }
    if a.status == 429 {
        rec.limited += 1;
    }
    let _ = rec.corrected.record(corrected.max(1));
    let _ = rec.raw.record(raw.max(1));
    if rec.seconds.len() <= second {
        rec.seconds.resize_with(second + 1, SecondRec::default);
    }
    let s = &mut rec.seconds[second];
    *s.by_status.entry(key).or_default() += 1;
    let _ = s
        .hist
        .get_or_insert_with(histogram)
        .record(corrected.max(1));
    rec.check("answer is 2xx (or an expected 429)", expected);
    if ok {
        rec.check("2xx body is {\"ok\":true}", a.body_ok);
    }
    if a.status == 429 || a.status == 503 {
        rec.check("429/503 carries Retry-After", a.retry_after.is_some());
    }
    match item.stream {
        Stream::Quiet(_) => {
            rec.quiet.0 += u64::from(ok);
            rec.quiet.1 += 1;
        }
        Stream::Flood => {
            rec.flood.0 += u64::from(a.status == 429);
            rec.flood.1 += 1;
        }
        Stream::Mixed => {}
    }
}
