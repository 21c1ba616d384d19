//! The local limiter's memory bound: 1 000 000 distinct chats, measured as this process's
//! resident set (`VmRSS` of /proc/self/status).
//!
//! A test binary of its own, with one test, so that nothing else allocates in the process while
//! it measures. The bound is stated in docs/admission.md.

use std::time::Duration;

use governor::clock::FakeRelativeClock;
use sluice_api::admission::{Ask, Rate, Verdict, local::LocalLimiter, policy::Policy};

const CHATS: i64 = 1_000_000;
/// The process, limiter included, stays under this with a million live chat keys.
const BOUND_BYTES: u64 = 80 * 1024 * 1024;

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kb * 1024
}

fn ask(chat: i64) -> Ask<'static> {
    let huge = Rate {
        per_sec: 1e12,
        burst: u32::MAX,
    };
    Ask {
        bot_id: 1,
        bot: "b",
        chat: Some(chat),
        // The defaults of the chat bucket: 20 per minute, burst 5.
        rates: [
            huge,
            huge,
            Rate {
                per_sec: 20.0 / 60.0,
                burst: 5,
            },
        ],
        policies: [Policy::Reject; 3],
        max_delay: Duration::from_secs(60),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[test]
fn a_million_chats_keep_the_process_under_the_stated_bound() {
    let clock = FakeRelativeClock::default();
    let limiter = LocalLimiter::with_clock(clock.clone());
    let base = rss_bytes();

    // Worst case: a million chats within one bucket period, so nothing can be evicted yet.
    for chat in 0..CHATS {
        assert_eq!(limiter.check(&ask(chat)), Verdict::Admit);
    }
    limiter.evict_idle();
    assert_eq!(
        limiter.chat_keys(),
        CHATS as usize,
        "every chat is still live"
    );
    let full = rss_bytes();
    eprintln!(
        "1M live chat keys: RSS {:.1} MiB (base {:.1} MiB, +{:.1} MiB, {:.0} bytes/key)",
        mib(full),
        mib(base),
        mib(full - base),
        (full - base) as f64 / CHATS as f64
    );
    assert!(full <= BOUND_BYTES, "RSS {:.1} MiB", mib(full));

    // One interval (3 s) later they are full buckets again: eviction drops them all and the
    // memory goes back to the allocator.
    clock.advance(Duration::from_secs(3));
    limiter.evict_idle();
    assert_eq!(limiter.chat_keys(), 0);
    let evicted = rss_bytes();
    eprintln!("after eviction: RSS {:.1} MiB", mib(evicted));

    // Steady state: the same million chats spread over 100 s, eviction every 10 s (as the api
    // runs it): only the chats of the last bucket period stay.
    let mut peak_keys = 0;
    for chat in 0..CHATS {
        if chat % 10_000 == 0 {
            clock.advance(Duration::from_secs(1));
        }
        if chat % 100_000 == 0 {
            limiter.evict_idle();
        }
        peak_keys = peak_keys.max(limiter.chat_keys());
        assert_eq!(limiter.check(&ask(CHATS + chat)), Verdict::Admit);
    }
    let steady = rss_bytes();
    eprintln!(
        "1M chats over 100 s: at most {peak_keys} live keys, RSS {:.1} MiB",
        mib(steady)
    );
    assert!(peak_keys <= 140_000, "{peak_keys}");
    assert!(steady <= BOUND_BYTES);
}
