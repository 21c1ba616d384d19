//! The decision's guarantees, checked on arbitrary arrival sequences with a fake clock: time is
//! just the number each step passes in.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// Global, bot and per-chat bucket states driven through [`decide`] and [`commit`], as a
/// limiter would.
struct Sim {
    quotas: [Quota; 3],
    policies: [Policy; 3],
    max_delay: u64,
    global: Option<u64>,
    bot: Option<u64>,
    chats: HashMap<u8, Option<u64>>,
}

impl Sim {
    fn new(quotas: [Quota; 3], policies: [Policy; 3], max_delay: u64) -> Sim {
        Sim {
            quotas,
            policies,
            max_delay,
            global: None,
            bot: None,
            chats: HashMap::new(),
        }
    }

    fn step(&mut self, now: u64, chat: u8) -> Decision {
        let chat_tat = self.chats.get(&chat).copied().flatten();
        let limits = [Limit::Global, Limit::Bot, Limit::Chat];
        let tats = [self.global, self.bot, chat_tat];
        let buckets: Vec<Bucket> = (0..3)
            .map(|i| Bucket {
                limit: limits[i],
                quota: self.quotas[i],
                policy: self.policies[i],
                tat: tats[i],
            })
            .collect();
        let d = decide(now, &buckets, self.max_delay);
        let at = match d {
            Decision::Admit => now,
            Decision::Delay { at } => at,
            Decision::Drop { .. } | Decision::Reject { .. } => return d,
        };
        self.global = Some(commit(self.global, now, at, self.quotas[0]));
        self.bot = Some(commit(self.bot, now, at, self.quotas[1]));
        self.chats
            .insert(chat, Some(commit(chat_tat, now, at, self.quotas[2])));
        d
    }
}

/// `times` (sorted) never has more than `burst + w / t` entries in a window of length `w`.
fn within_gcra_bound(times: &[u64], q: Quota) -> Result<(), String> {
    let burst = q.tau / q.t + 1;
    for i in 0..times.len() {
        for j in i..times.len() {
            let cells = (j - i + 1) as u64;
            let window = times[j] - times[i];
            // cells <= burst + window / t, kept in integers.
            if cells > burst && (cells - burst) * q.t > window {
                return Err(format!(
                    "{cells} cells in a window of {window} ticks (t {}, burst {burst})",
                    q.t
                ));
            }
        }
    }
    Ok(())
}

const HUGE: Quota = Quota { t: 1, tau: 1 << 40 };

fn quota() -> impl Strategy<Value = Quota> {
    (1u64..1_000, 1u64..8).prop_map(|(t, burst)| Quota {
        t,
        tau: t * (burst - 1),
    })
}

/// Arrivals as (gap since the previous one, chat).
fn arrivals() -> impl Strategy<Value = Vec<(u64, u8)>> {
    prop::collection::vec((0u64..600, 0u8..4), 1..300)
}

proptest! {
    #[test]
    fn admitted_per_chat_in_any_window_stay_within_burst_plus_rate(
        q in quota(), arrivals in arrivals()
    ) {
        let mut sim = Sim::new([HUGE, HUGE, q], [Policy::Reject; 3], 0);
        let mut admitted: HashMap<u8, Vec<u64>> = HashMap::new();
        let mut now = 0;
        for (gap, chat) in arrivals {
            now += gap;
            match sim.step(now, chat) {
                Decision::Admit => admitted.entry(chat).or_default().push(now),
                Decision::Reject { limit, at } => {
                    prop_assert_eq!(limit, Limit::Chat);
                    prop_assert!(at > now, "a rejection names a time in the future");
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        for times in admitted.values() {
            within_gcra_bound(times, q).map_err(TestCaseError::fail)?;
        }
    }

    #[test]
    fn admitted_overall_stay_within_the_global_bound(
        q in quota(), arrivals in arrivals()
    ) {
        let mut sim = Sim::new([q, HUGE, HUGE], [Policy::Reject; 3], 0);
        let mut admitted = Vec::new();
        let mut now = 0;
        for (gap, chat) in arrivals {
            now += gap;
            if sim.step(now, chat) == Decision::Admit {
                admitted.push(now);
            }
        }
        within_gcra_bound(&admitted, q).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn a_rejected_update_is_admitted_at_its_retry_time(
        q in quota(), arrivals in arrivals()
    ) {
        let mut sim = Sim::new([HUGE, HUGE, q], [Policy::Reject; 3], 0);
        let mut now = 0;
        for (gap, chat) in arrivals {
            now += gap;
            if let Decision::Reject { at, .. } = sim.step(now, chat) {
                // Nothing else arrives in between: the retry at `at` must pass, and not before.
                let mut probe = Sim { chats: sim.chats.clone(), ..Sim::new(sim.quotas, sim.policies, 0) };
                let early = probe.step(at - 1, chat);
                prop_assert!(matches!(early, Decision::Reject { .. }), "{:?} before the retry time", early);
                let mut probe = Sim { chats: sim.chats.clone(), ..Sim::new(sim.quotas, sim.policies, 0) };
                prop_assert_eq!(probe.step(at, chat), Decision::Admit);
            }
        }
    }

    #[test]
    fn delayed_jobs_of_a_chat_run_in_order_and_never_early(
        q in quota(), global in quota(), arrivals in arrivals(), max_delay in 0u64..20_000
    ) {
        let policies = [Policy::Reject, Policy::Reject, Policy::Delay];
        let mut sim = Sim::new([global, HUGE, q], policies, max_delay);
        let mut runs: HashMap<u8, Vec<u64>> = HashMap::new();
        let mut taken = Vec::new();
        let mut now = 0;
        for (gap, chat) in arrivals {
            now += gap;
            let at = match sim.step(now, chat) {
                Decision::Admit => now,
                Decision::Delay { at } => {
                    prop_assert!(at > now && at - now <= max_delay);
                    at
                }
                Decision::Reject { limit: Limit::Chat, at } => {
                    prop_assert!(at - now > max_delay, "rejected only past the delay bound");
                    continue;
                }
                Decision::Reject { limit, .. } => {
                    prop_assert_eq!(limit, Limit::Global);
                    continue;
                }
                Decision::Drop { .. } => { prop_assert!(false, "no drop policy"); continue; }
            };
            let times = runs.entry(chat).or_default();
            prop_assert!(times.last().is_none_or(|&last| last <= at), "non-decreasing");
            times.push(at);
            taken.push(now);
        }
        // Scheduled times obey the chat's bound: none runs earlier than allowed.
        for times in runs.values() {
            within_gcra_bound(times, q).map_err(TestCaseError::fail)?;
        }
        // A delay does not hold the global bucket beyond the cell it takes.
        within_gcra_bound(&taken, global).map_err(TestCaseError::fail)?;
    }
}

fn bucket(limit: Limit, quota: Quota, policy: Policy, tat: Option<u64>) -> Bucket {
    Bucket {
        limit,
        quota,
        policy,
        tat,
    }
}

#[test]
fn a_burst_then_the_rate() {
    // 20 per minute, burst 5, in seconds.
    let q = Quota::new(20.0 / 60.0, 5, 1);
    assert_eq!(q, Quota { t: 3, tau: 12 });
    let mut sim = Sim::new([HUGE, HUGE, q], [Policy::Reject; 3], 0);
    for _ in 0..5 {
        assert_eq!(sim.step(100, 1), Decision::Admit);
    }
    assert_eq!(
        sim.step(100, 1),
        Decision::Reject {
            limit: Limit::Chat,
            at: 103
        }
    );
    assert_eq!(sim.step(103, 1), Decision::Admit);
    assert_eq!(
        sim.step(103, 2),
        Decision::Admit,
        "another chat is not held"
    );
}

#[test]
fn reject_wins_over_drop_and_delay_and_refusals_commit_nothing() {
    let q = Quota { t: 10, tau: 0 };
    let full = Some(110); // earliest 110 at now 100
    let b = [
        bucket(Limit::Global, q, Policy::Delay, full),
        bucket(Limit::Bot, q, Policy::Reject, full),
        bucket(Limit::Chat, q, Policy::Drop, Some(130)),
    ];
    assert_eq!(
        decide(100, &b, 1_000),
        Decision::Reject {
            limit: Limit::Bot,
            at: 130
        }
    );
    let b = [b[0], bucket(Limit::Bot, q, Policy::Reject, None), b[2]];
    assert_eq!(
        decide(100, &b, 1_000),
        Decision::Drop { limit: Limit::Chat }
    );
    let b = [b[0], b[1], bucket(Limit::Chat, q, Policy::Delay, Some(130))];
    assert_eq!(decide(100, &b, 1_000), Decision::Delay { at: 130 });
    assert_eq!(
        decide(100, &b, 29),
        Decision::Reject {
            limit: Limit::Chat,
            at: 130
        },
        "past the delay bound, the limit that sets the wait rejects"
    );
}

#[test]
fn a_delay_books_the_full_bucket_later_and_charges_the_others_now() {
    let q = Quota { t: 10, tau: 20 };
    // Room now (earliest 80 <= 100): charged at now whatever the run time.
    assert_eq!(commit(None, 100, 500, q), 110);
    assert_eq!(
        commit(Some(50), 100, 500, q),
        110,
        "an old TAT is a full bucket"
    );
    assert_eq!(commit(Some(115), 100, 500, q), 125);
    // Over (earliest 110 > 100): booked at the run time.
    assert_eq!(commit(Some(130), 100, 110, q), 140);
    assert_eq!(commit(Some(130), 100, 200, q), 210);
}

#[test]
fn a_delayed_chat_does_not_hold_the_global_bucket() {
    let global = Quota { t: 1, tau: 9 }; // 10 at once
    let chat = Quota { t: 100, tau: 0 };
    let mut sim = Sim::new(
        [global, HUGE, chat],
        [Policy::Reject, Policy::Reject, Policy::Delay],
        10_000,
    );
    assert_eq!(sim.step(0, 1), Decision::Admit);
    assert_eq!(sim.step(0, 1), Decision::Delay { at: 100 });
    assert_eq!(sim.step(0, 1), Decision::Delay { at: 200 });
    assert_eq!(
        sim.step(0, 2),
        Decision::Admit,
        "other chats still pass now"
    );
}

#[test]
fn rates_round_towards_fewer_cells() {
    assert_eq!(Quota::new(3.0, 1, 1_000_000_000).t, 333_333_334);
    assert_eq!(Quota::new(1e12, 1, 1_000_000).t, 1, "never a zero interval");
    assert_eq!(Quota::new(1.0, 4, 1_000).tau, 3_000);
}
