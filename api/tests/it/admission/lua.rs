//! The Lua script and the Rust decision agree, step by step, on arbitrary sequences, with
//! several updates in one script call (as the batcher sends them) or one.
//!
//! The script takes `now` from the caller here (in production it reads Redis's clock), so both
//! see the same times. Intervals are at least 1 s, longer than a whole case takes, so that keys
//! expiring on Redis's real clock cannot differ from the model's idea of a full bucket.

use std::{collections::HashMap, sync::Arc, time::Duration};

use proptest::{
    prelude::*,
    test_runner::{TestCaseError, TestRunner},
};
use redis::aio::ConnectionManager;
use sluice_api::admission::{
    Ask, Rate,
    gcra::{self, Bucket, Decision, Quota},
    local::LocalLimiter,
    policy::{Limit, Policy},
    redis::RedisLimiter,
};
use sluice_testkit::servers::RedisServer;

/// The Rust decision with its own bucket states, in microseconds.
#[derive(Default)]
struct Model {
    tats: HashMap<String, u64>,
}

impl Model {
    fn step(&mut self, now: u64, ask: &Ask<'_>) -> Decision {
        let quotas = ask.rates.map(|r| Quota::new(r.per_sec, r.burst, 1_000_000));
        // Named as the script names them after its prefix: g, b:<bot>, c:<bot>:<chat>.
        let mut keys = vec![
            ("g".to_owned(), Limit::Global),
            ("b:b".to_owned(), Limit::Bot),
        ];
        if let Some(chat) = ask.chat {
            keys.push((format!("c:b:{chat}"), Limit::Chat));
        }
        let buckets: Vec<Bucket> = keys
            .iter()
            .enumerate()
            .map(|(i, (key, limit))| Bucket {
                limit: *limit,
                quota: quotas[i],
                policy: ask.policies[i],
                tat: self.tats.get(key).copied(),
            })
            .collect();
        let max_delay = ask.max_delay.as_micros() as u64;
        let decision = gcra::decide(now, &buckets, max_delay);
        let at = match decision {
            Decision::Admit => now,
            Decision::Delay { at } => at,
            _ => return decision,
        };
        for (i, (key, _)) in keys.iter().enumerate() {
            let next = gcra::commit(buckets[i].tat, now, at, quotas[i]);
            self.tats.insert(key.clone(), next);
        }
        decision
    }
}

fn rate() -> impl Strategy<Value = Rate> {
    (1u32..10, 1u32..5).prop_map(|(secs, burst)| Rate {
        per_sec: 1.0 / f64::from(secs),
        burst,
    })
}

fn policy() -> impl Strategy<Value = Policy> {
    prop_oneof![
        Just(Policy::Reject),
        Just(Policy::Delay),
        Just(Policy::Drop)
    ]
}

/// Arrivals: (gap in µs, the chats — or none — of the updates decided in one script call).
fn arrivals() -> impl Strategy<Value = Vec<(u64, Vec<Option<i64>>)>> {
    let batch = prop::collection::vec(prop::option::weighted(0.9, 0i64..3), 1..5);
    prop::collection::vec((0u64..4_000_000, batch), 1..40)
}

/// A sequence to run through both: rates, policies, the delay bound, arrivals.
type Case = ([Rate; 3], [Policy; 3], u64, Vec<(u64, Vec<Option<i64>>)>);

#[test]
fn admission_lua_script_decides_exactly_like_the_rust_gcra() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    // A redis-server of its own (each case uses its own prefix): see `super::spawn`.
    let mut redis = rt.block_on(RedisServer::start()).unwrap();
    let _in_runtime = rt.enter();
    let conn = sluice_shared::queue::connect(&redis.url(), Duration::from_secs(2)).unwrap();
    let cases = (
        [rate(), rate(), rate()],
        [policy(), policy(), policy()],
        0u64..20,
        arrivals(),
    );
    let mut runner = TestRunner::new(ProptestConfig::with_cases(128));
    let result = runner.run(&cases, |case: Case| {
        rt.block_on(same_decisions(conn.clone(), case))
    });
    rt.block_on(redis.stop());
    if let Err(e) = result {
        panic!("{e}");
    }
}

async fn same_decisions(conn: ConnectionManager, case: Case) -> Result<(), TestCaseError> {
    let (rates, policies, max_delay_s, arrivals) = case;
    let prefix = sluice_testkit::prefix();
    let mut reader = conn.clone();
    let limiter = RedisLimiter::new(
        conn,
        &prefix,
        Duration::from_secs(2),
        Arc::new(LocalLimiter::default()),
    );
    let mut model = Model::default();
    // A realistic epoch in µs: Lua numbers are doubles, exact up to 2^53.
    let mut now = 1_764_000_000_000_000u64;
    for (gap, chats) in arrivals {
        now += gap;
        let asks: Vec<Ask<'_>> = chats
            .into_iter()
            .map(|chat| Ask {
                bot_id: 1,
                bot: "b",
                chat,
                rates,
                policies,
                max_delay: Duration::from_secs(max_delay_s),
            })
            .collect();
        let in_redis = limiter.decide_batch(&asks, Some(now)).await.unwrap();
        prop_assert_eq!(in_redis.len(), asks.len());
        for (ask, (decision, at)) in asks.iter().zip(in_redis) {
            prop_assert_eq!(at, now);
            prop_assert_eq!(decision, model.step(now, ask), "at {}", now);
        }
        // The buckets' state, not only the answers, is the same.
        for (key, tat) in &model.tats {
            let stored: Option<u64> = redis::cmd("GET")
                .arg(format!("{prefix}:rl:{{{prefix}}}:{key}"))
                .query_async(&mut reader)
                .await
                .unwrap();
            prop_assert_eq!(stored, Some(*tat), "TAT of {} at {}", key, now);
        }
    }
    Ok(())
}
