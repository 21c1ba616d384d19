//! The local limiter on governor's fake clock: no sleeps, time moves when the test says so.

use std::time::Duration;

use governor::clock::FakeRelativeClock;

use super::*;
use crate::admission::{Rate, policy::Policy};

const HUGE: Rate = Rate {
    per_sec: 1e9,
    burst: 1_000_000,
};

fn ask(chat: Option<i64>, chat_policy: Policy) -> Ask<'static> {
    Ask {
        bot_id: 1,
        bot: "b",
        chat,
        rates: [
            HUGE,
            HUGE,
            Rate {
                per_sec: 20.0 / 60.0,
                burst: 5,
            },
        ],
        policies: [Policy::Reject, Policy::Reject, chat_policy],
        max_delay: Duration::from_secs(60),
    }
}

#[test]
fn a_chat_gets_its_burst_then_a_retry_time() {
    let clock = FakeRelativeClock::default();
    let l = LocalLimiter::with_clock(clock.clone());
    for _ in 0..5 {
        assert_eq!(l.check(&ask(Some(7), Policy::Reject)), Verdict::Admit);
    }
    clock.advance(Duration::from_millis(500));
    assert_eq!(
        l.check(&ask(Some(7), Policy::Reject)),
        Verdict::Reject {
            limit: Limit::Chat,
            wait: Duration::from_millis(2500)
        }
    );
    assert_eq!(
        l.check(&ask(Some(8), Policy::Reject)),
        Verdict::Admit,
        "other chats are not held"
    );
    clock.advance(Duration::from_millis(2500));
    assert_eq!(l.check(&ask(Some(7), Policy::Reject)), Verdict::Admit);
}

#[test]
fn updates_without_a_chat_meet_only_global_and_bot() {
    let l = LocalLimiter::with_clock(FakeRelativeClock::default());
    for _ in 0..100 {
        assert_eq!(l.check(&ask(None, Policy::Reject)), Verdict::Admit);
    }
    assert_eq!(l.chat_keys(), 0);
}

#[test]
fn delayed_updates_are_spaced_by_the_rate() {
    let l = LocalLimiter::with_clock(FakeRelativeClock::default());
    for _ in 0..5 {
        assert_eq!(l.check(&ask(Some(7), Policy::Delay)), Verdict::Admit);
    }
    let mut last = SystemTime::UNIX_EPOCH;
    for k in 1..=20u64 {
        let before = SystemTime::now();
        let Verdict::Delay { until } = l.check(&ask(Some(7), Policy::Delay)) else {
            panic!("delay {k} expected");
        };
        // The k-th delayed update runs 3k s after the burst (wall clock read around the call).
        let ahead = until.duration_since(before).unwrap();
        assert!(ahead >= Duration::from_secs(3 * k), "{k}: {ahead:?}");
        assert!(ahead <= Duration::from_secs(3 * k) + Duration::from_millis(100));
        assert!(until >= last);
        last = until;
    }
    // The 21st would run 63 s ahead: past SLUICE_MAX_DELAY (60s), so it is rejected.
    assert!(matches!(
        l.check(&ask(Some(7), Policy::Delay)),
        Verdict::Reject {
            limit: Limit::Chat,
            ..
        }
    ));
}

#[test]
fn a_rejected_chat_does_not_spend_the_global_budget() {
    let l = LocalLimiter::with_clock(FakeRelativeClock::default());
    let mut a = ask(Some(7), Policy::Reject);
    a.rates[0] = Rate {
        per_sec: 1.0,
        burst: 6,
    };
    for _ in 0..5 {
        assert_eq!(l.check(&a), Verdict::Admit);
    }
    for _ in 0..10 {
        assert!(matches!(
            l.check(&a),
            Verdict::Reject {
                limit: Limit::Chat,
                ..
            }
        ));
    }
    a.chat = Some(8);
    assert_eq!(
        l.check(&a),
        Verdict::Admit,
        "the sixth global cell is still there"
    );
    assert!(matches!(
        l.check(&a),
        Verdict::Reject {
            limit: Limit::Global,
            ..
        }
    ));
}

#[test]
fn idle_chats_are_evicted_without_changing_any_decision() {
    let clock = FakeRelativeClock::default();
    let l = LocalLimiter::with_clock(clock.clone());
    for chat in 0..1000 {
        assert_eq!(l.check(&ask(Some(chat), Policy::Reject)), Verdict::Admit);
    }
    for _ in 0..4 {
        l.check(&ask(Some(0), Policy::Reject));
    }
    assert_eq!(l.chat_keys(), 1000);
    // One interval (3 s) later every chat but 0 is full again; chat 0 spent its whole burst
    // and has regained one cell only.
    clock.advance(Duration::from_secs(3));
    l.evict_idle();
    assert_eq!(l.chat_keys(), 1);
    assert_eq!(l.check(&ask(Some(0), Policy::Reject)), Verdict::Admit);
    assert!(matches!(
        l.check(&ask(Some(0), Policy::Reject)),
        Verdict::Reject { .. }
    ));
    clock.advance(Duration::from_secs(60));
    l.evict_idle();
    assert_eq!(l.chat_keys(), 0);
}
