//! The check on synthetic samples: in order, overlapping in flight, reversed, and without times.

use super::check::{EXAMPLES, Sample, check};
use super::rows::acknowledged;
use super::{Key, Ordering};
use crate::summary::LedgerEntry;

const CHAT: Key = Key::Chat(-100);

/// Update `id` of CHAT, sent at `sent` ms, acknowledged 1 ms later, handled at `handled` ms.
fn s(id: i64, sent: i64, handled: i64) -> Sample {
    Sample {
        bot: "b".into(),
        key: CHAT,
        update_id: id,
        sent: sent * 1000,
        acked: sent * 1000 + 1000,
        handled_us: handled * 1000,
    }
}

#[test]
fn in_order_updates_pass() {
    let samples: Vec<Sample> = (0..10).map(|i| s(i, i * 10, 100 + i * 5)).collect();
    let r = check("chat", &samples);
    assert_eq!(
        (r.keys, r.updates, r.comparable, r.violations),
        (1, 10, 9, 0)
    );
    assert!(r.examples.is_empty());
}

#[test]
fn equal_handling_times_are_not_a_violation() {
    // One batch of rows shares its transaction's time.
    let r = check("chat", &[s(1, 0, 50), s(2, 10, 50), s(3, 20, 50)]);
    assert_eq!((r.comparable, r.violations), (2, 0));
}

#[test]
fn reversed_updates_are_each_counted_once() {
    let samples: Vec<Sample> = (0..5).map(|i| s(i, i * 10, 100 - i * 5)).collect();
    let r = check("chat", &samples);
    assert_eq!((r.comparable, r.violations), (4, 4));
    // The largest lag first: update 4 handled 20 ms before update 0.
    let top = &r.examples[0];
    assert_eq!((top.earlier_update_id, top.later_update_id), (0, 4));
    assert_eq!(top.ahead_ms, 20.0);
}

#[test]
fn one_late_update_is_one_violation() {
    // 2 is handled after 3 and 4: only those two ran ahead of an update acknowledged before them.
    let r = check(
        "chat",
        &[
            s(1, 0, 10),
            s(2, 10, 90),
            s(3, 20, 30),
            s(4, 30, 40),
            s(5, 40, 95),
        ],
    );
    assert_eq!((r.comparable, r.violations), (4, 2));
    let later: Vec<i64> = r.examples.iter().map(|v| v.later_update_id).collect();
    assert_eq!(later, vec![3, 4]);
}

#[test]
fn updates_in_flight_together_have_no_order() {
    // 2 was sent before 1's answer arrived: sluice may run them either way round.
    let mut one = s(1, 0, 60);
    one.acked = 20_000;
    let two = s(2, 10, 50);
    let r = check("chat", &[one.clone(), two.clone()]);
    assert_eq!((r.comparable, r.violations), (0, 0));
    // Once 2 is sent after 1 was answered, the same handling times are a violation.
    let mut late = two;
    late.sent = 25_000;
    late.acked = 26_000;
    let r = check("chat", &[one, late]);
    assert_eq!((r.comparable, r.violations), (1, 1));
}

#[test]
fn keys_and_bots_are_checked_apart() {
    let mut other_chat = s(2, 10, 10);
    other_chat.key = Key::Chat(-200);
    let mut other_bot = s(3, 20, 20);
    other_bot.bot = "c".into();
    let user = Sample {
        key: Key::User(-100),
        ..s(4, 30, 30)
    };
    let r = check("chat", &[s(1, 0, 100), other_chat, other_bot, user]);
    assert_eq!((r.keys, r.comparable, r.violations), (4, 0, 0));
}

#[test]
fn examples_are_bounded() {
    let samples: Vec<Sample> = (0..1000).map(|i| s(i, i * 10, 100_000 - i)).collect();
    let r = check("chat", &samples);
    assert_eq!(r.violations, 999);
    assert_eq!(r.examples.len(), EXAMPLES);
}

fn entry(id: i64, status: u16, times: Option<(u64, u64)>) -> LedgerEntry {
    LedgerEntry {
        bot: "b".into(),
        update_id: id,
        status,
        resend: false,
        sent_us: times.map(|t| t.0),
        answered_us: times.map(|t| t.1),
    }
}

#[test]
fn a_ledger_without_times_orders_by_update_id() {
    let ledger = [
        entry(7, 200, None),
        entry(5, 200, None),
        entry(6, 429, None),
    ];
    let acked = acknowledged(&ledger);
    assert_eq!(acked.len(), 2, "the refused update is not acknowledged");
    let (s7, s5) = (acked[&("b", 7)], acked[&("b", 5)]);
    assert!(s5.1 <= s7.0, "5 precedes 7");
    assert!(
        s7.1 > s5.0 && s7.1 > s7.0,
        "7 precedes neither 5 nor itself"
    );
    let sample = |id: i64, (sent, acked): (i64, i64), handled: i64| Sample {
        update_id: id,
        sent,
        acked,
        ..s(id, 0, handled)
    };
    let r = check("chat", &[sample(7, s7, 10), sample(5, s5, 20)]);
    assert_eq!((r.comparable, r.violations), (1, 1));
}

#[test]
fn the_first_acknowledgement_of_a_resent_update_counts() {
    let ledger = [
        entry(1, 503, Some((0, 5))),
        entry(1, 200, Some((100, 110))),
        entry(1, 200, Some((200, 210))),
    ];
    // Acknowledged by its first 2xx, but in the queue possibly since its first attempt.
    assert_eq!(acknowledged(&ledger)[&("b", 1)], (0, 110));
}

#[test]
fn an_update_whose_503_attempt_was_queued_is_not_ordered_after_later_ones() {
    // 1's first attempt timed out into a 503 but was queued; 2 was sent and acknowledged while
    // 1 waited for its retry; 1 was handled first. Nothing says 2 preceded 1: no violation.
    let ledger = [
        entry(1, 503, Some((0, 30))),
        entry(2, 200, Some((40, 50))),
        entry(1, 200, Some((100, 110))),
    ];
    let acked = acknowledged(&ledger);
    let sample = |id: i64, handled: i64| {
        let (sent, ack) = acked[&("b", id)];
        Sample {
            sent,
            acked: ack,
            ..s(id, 0, handled)
        }
    };
    let r = check("chat", &[sample(1, 60), sample(2, 80)]);
    assert_eq!((r.comparable, r.violations), (0, 0));
}

#[test]
fn keys_follow_the_mode() {
    let (c, u) = (Some(-5), Some(9));
    assert_eq!(Ordering::Chat.key("message", c, u), Some(Key::Chat(-5)));
    assert_eq!(
        Ordering::Chat.key("callback_query", c, u),
        Some(Key::Chat(-5))
    );
    // A callback on an inline message has no chat: its user.
    assert_eq!(
        Ordering::Chat.key("callback_query", None, u),
        Some(Key::User(9))
    );
    assert_eq!(Ordering::Telegram.key("message", c, u), Some(Key::Chat(-5)));
    assert_eq!(
        Ordering::Telegram.key("callback_query", c, u),
        Some(Key::User(9))
    );
    assert_eq!(Ordering::Telegram.key("poll", None, None), None);
    assert_eq!(Ordering::Off.key("message", c, u), None);
    assert_eq!(Ordering::Chat.key("poll", None, None), None);
    for m in [Ordering::Chat, Ordering::Telegram, Ordering::Off] {
        assert_eq!(Ordering::parse(m.name()), Some(m));
    }
}
