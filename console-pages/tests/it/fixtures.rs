//! View models for the tests and the screenshots: a plausible console at a fixed instant, and
//! the same pages filled with hostile strings.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sluice_console_pages::{
    CsrfToken, Flash, FlashKind, PageContext,
    bots::{BotRow, BotsView, Limits, SourceRow},
    dead_letter::{Attempt, DeadLetterView},
    dead_letters::{DeadLetterRow, DeadLettersView, Origin},
    query::DeadLettersQuery,
    workers::{WorkerRow, WorkersView},
};

mod lanes;

pub use lanes::lanes;

pub const CSRF: &str = "csrf-7f3a9c1e5b";
pub const HOSTILE: &str = r#"<script>alert("x")</script>' onmouseover="alert(1)" &amp;"#;

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-03T14:05:00Z")
        .unwrap()
        .to_utc()
}

pub(crate) fn ago(secs: i64) -> DateTime<Utc> {
    now() - chrono::Duration::seconds(secs)
}

pub fn ctx() -> PageContext {
    PageContext {
        csrf: CsrfToken::new(CSRF),
        flash: None,
        now: now(),
    }
}

pub fn ctx_with_flash(text: &str) -> PageContext {
    PageContext {
        flash: Some(Flash {
            kind: FlashKind::Success,
            text: text.into(),
        }),
        ..ctx()
    }
}

pub fn dead_letter_rows() -> Vec<DeadLetterRow> {
    let reasons = [
        (
            "handler: forward target answered 500 Internal Server Error after 8 attempts",
            8,
        ),
        (
            "handler: payload is not a JSON object: expected value at line 1 column 1",
            1,
        ),
        ("forward: timed out after 10s (connect 127.0.0.1:8443)", 8),
        (
            "store: duplicate key value violates unique constraint \"updates_bot_update_id_key\"",
            1,
        ),
    ];
    (0..12)
        .map(|i| {
            let (reason, attempts) = reasons[i % reasons.len()];
            let origin = if i % 3 == 2 {
                Origin::Source {
                    name: "stripe-live".into(),
                    key: format!("evt_3Q{i}xLm2eZvKYlo2C1h0Qz"),
                }
            } else {
                Origin::Bot {
                    name: ["support_bot", "broadcast_bot"][i % 2].into(),
                    update_id: 904_112_330 + i as i64,
                }
            };
            DeadLetterRow {
                id: format!("01JEX4T{i:02}K3Q8ZV5M2N7RB6WCYD"),
                lane: ["normal", "high", "low"][i % 3].into(),
                origin,
                kind: if i % 3 == 2 {
                    "charge.failed".into()
                } else {
                    "message".into()
                },
                reason: reason.into(),
                attempts,
                dead_at: ago(95 + i as i64 * 613),
            }
        })
        .collect()
}

/// The list page for `query`: the fixture rows the filter matches (as the console would filter
/// them in Redis), so that the form's parameters visibly arrive.
pub fn dead_letters(query: DeadLettersQuery) -> DeadLettersView {
    let f = &query.filter;
    let range = f.time_range().unwrap_or_default();
    let rows = dead_letter_rows()
        .into_iter()
        .filter(|r| f.lane.as_ref().is_none_or(|l| *l == r.lane))
        .filter(|r| {
            let name = match &r.origin {
                Origin::Bot { name, .. } | Origin::Source { name, .. } => name,
            };
            f.origin.as_ref().is_none_or(|o| o == name)
        })
        .filter(|r| {
            f.reason
                .as_ref()
                .is_none_or(|t| r.reason.contains(t.as_str()))
        })
        .filter(|r| {
            range.since.is_none_or(|t| r.dead_at >= t) && range.until.is_none_or(|t| r.dead_at < t)
        })
        .collect();
    DeadLettersView {
        query,
        lanes: vec!["high".into(), "normal".into(), "low".into()],
        rows,
        next_cursor: Some("1733230000000-01JEX4T11K3Q8ZV5M2N7RB6WCYD".into()),
        matching: Some(15),
    }
}

pub fn dead_letter() -> DeadLetterView {
    let payload = r#"{"update_id":904112330,"message":{"message_id":5521,"from":{"id":7211,"is_bot":false,"first_name":"Ana","language_code":"pt-BR"},"chat":{"id":-1001789234561,"title":"Support","type":"supergroup"},"date":1796306400,"text":"/status order 8812"}}"#;
    DeadLetterView {
        id: "01JEX4T00K3Q8ZV5M2N7RB6WCYD".into(),
        lane: "normal".into(),
        origin: Origin::Bot { name: "support_bot".into(), update_id: 904_112_330 },
        kind: "message".into(),
        reason: "handler: forward target answered 500 Internal Server Error after 8 attempts".into(),
        received_at: ago(1_500),
        dead_at: ago(95),
        payload: payload.into(),
        attempts: (1..=8)
            .map(|n| Attempt {
                number: n,
                at: Some(ago(1_500 - i64::from(n * n) * 20)),
                error: "forward: 500 Internal Server Error from https://hooks.internal.example/telegram".into(),
            })
            .collect(),
    }
}

pub fn bots() -> BotsView {
    let bot = |name: &str, limits, has_token, age: i64| BotRow {
        name: name.into(),
        limits,
        has_token,
        created_at: ago(age),
        updated_at: ago(age / 7),
    };
    BotsView {
        bots: vec![
            bot(
                "support_bot",
                Some(Limits {
                    rate_per_sec: 30.0,
                    burst: 60,
                }),
                true,
                40 * 86_400,
            ),
            bot(
                "broadcast_bot",
                Some(Limits {
                    rate_per_sec: 5.0,
                    burst: 10,
                }),
                true,
                12 * 86_400,
            ),
            bot("alerts_bot", None, false, 3 * 86_400),
        ],
        sources: vec![
            SourceRow {
                name: "github-ops".into(),
                scheme: "github".into(),
                lane: "normal".into(),
                tolerance: Duration::from_secs(300),
                rotating: false,
                created_at: ago(20 * 86_400),
            },
            SourceRow {
                name: "stripe-live".into(),
                scheme: "stripe".into(),
                lane: "high".into(),
                tolerance: Duration::from_secs(300),
                rotating: true,
                created_at: ago(9 * 86_400),
            },
        ],
        confirm_remove: None,
        lanes: vec!["high".into(), "normal".into(), "low".into()],
    }
}

pub fn workers() -> WorkersView {
    let w = |name: &str, lane: &str, host: &str, beat: i64, in_flight, concurrency| WorkerRow {
        name: name.into(),
        lane: lane.into(),
        host: host.into(),
        started_at: Some(ago(7_300)),
        last_heartbeat: ago(beat),
        in_flight,
        concurrency: Some(concurrency),
    };
    WorkersView {
        workers: vec![
            w(
                "sluice-worker-7d9f-high-1",
                "high",
                "sluice-worker-7d9f",
                2,
                3,
                8,
            ),
            w(
                "sluice-worker-7d9f-normal-1",
                "normal",
                "sluice-worker-7d9f",
                2,
                16,
                16,
            ),
            w(
                "sluice-worker-7d9f-low-1",
                "low",
                "sluice-worker-7d9f",
                3,
                4,
                4,
            ),
            w(
                "sluice-worker-b21c-high-1",
                "high",
                "sluice-worker-b21c",
                1,
                1,
                8,
            ),
            w(
                "sluice-worker-b21c-normal-1",
                "normal",
                "sluice-worker-b21c",
                1,
                16,
                16,
            ),
            w(
                "sluice-worker-0a4e-normal-1",
                "normal",
                "sluice-worker-0a4e",
                94,
                0,
                16,
            ),
        ],
        stale_after: Duration::from_secs(30),
    }
}
