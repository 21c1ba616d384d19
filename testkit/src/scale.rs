//! Redis filled as a large deployment's would be, for the benchmarks that ask the console's
//! questions at scale: queued jobs over 50 bots and 3 lanes, dead letters over a day with rotating
//! reasons, and the median / slowest of a question asked 20 times.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use redis::aio::ConnectionManager;
use serde_json::value::RawValue;
use sluice_shared::{
    dlq::{DeadLetter, DeadLetters},
    job::{Job, Origin},
    lanes::Lane,
    queue::{PushOptions, Pusher, QueueConfig},
};
use ulid::Ulid;

/// 2026-12-03T12:00:00Z: letters die over the day before it and the afternoon after it.
pub const NOON: i64 = 1_796_299_200_000;
/// Jobs and letters come from `bot00` … `bot49`.
pub const BOTS: usize = 50;
/// Reasons in rotation; [`RARE`] is given to one letter in 10 000.
pub const REASONS: [&str; 5] = [
    "permanent: forward target answered 422 Unprocessable Entity",
    "transient: forward target timed out after 30s",
    "held its ordering key for 300.0s (SLUICE_ORDER_MAX_HOLD): connection refused",
    "permanent: forward target answered 410 Gone",
    "transient: storing the job: pool timed out",
];
pub const RARE: &str = "permanent: payload rejected by a handler panic (rare)";

/// A size from the environment variable `var`, else `default`.
pub fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Update `n` of `bot{bot:02}`, a text message of one of 5 000 chats.
pub fn job(bot: usize, n: i64, lane: Lane) -> Job {
    let payload = format!(
        r#"{{"update_id":{n},"message":{{"message_id":{n},"chat":{{"id":{n},"type":"private"}},"date":1764000000,"text":"hello there, this is update {n}"}}}}"#
    );
    Job {
        origin: Origin::Telegram {
            bot: format!("bot{bot:02}"),
            update_id: n,
            chat: Some(n % 5000),
            user: Some(n % 5000),
        },
        kind: "message".into(),
        lane,
        received_at_ms: NOON,
        payload: RawValue::from_string(payload).expect("valid JSON"),
        attempt: 5,
        traceparent: None,
    }
}

/// Queues `n` jobs under `prefix` with the api's own push, 1 000 per script call, the lanes
/// taking turns by the thousand.
pub async fn fill_jobs(conn: &ConnectionManager, prefix: &str, n: usize) -> anyhow::Result<()> {
    let queue = QueueConfig {
        dedup_ttl: Duration::from_secs(25 * 3600),
    };
    let pusher = Pusher::new(conn.clone(), prefix, &queue, PushOptions::default());
    let mut i = 0;
    while i < n {
        let lane = Lane::ALL[(i / 1000) % 3];
        let batch: Vec<(Vec<u8>, Option<String>)> = (i..(i + 1000).min(n))
            .map(|k| {
                let j = job(k % BOTS, k as i64, lane);
                Ok((serde_json::to_vec(&j)?, Some(j.origin.dedup_key())))
            })
            .collect::<anyhow::Result<_>>()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        pusher.push_encoded(lane, &batch, deadline).await?;
        i += 1000;
    }
    Ok(())
}

/// Letter `k`: dead 0.777 s after letter `k - 1`, from 12 h before [`NOON`].
pub fn letter(k: usize) -> DeadLetter {
    let reason = if k % 10_000 == 7 {
        RARE
    } else {
        REASONS[k % REASONS.len()]
    };
    let lane = Lane::ALL[k % 3];
    DeadLetter {
        id: Ulid::generate().to_string(),
        reason: reason.into(),
        dead_at_ms: NOON - 43_200_000 + (k as i64) * 777,
        envelope: job((k * 7) % BOTS, 10_000_000 + k as i64, lane),
    }
}

/// Puts `n` letters, 200 at a time; answers the first of every 200 (samples to open).
pub async fn fill_letters(dead: &DeadLetters, n: usize) -> anyhow::Result<Vec<DeadLetter>> {
    let mut kept = Vec::new();
    for start in (0..n).step_by(200) {
        let letters: Vec<DeadLetter> = (start..(start + 200).min(n)).map(letter).collect();
        let mut puts = tokio::task::JoinSet::new();
        for l in &letters {
            let (dead, l) = (dead.clone(), l.clone());
            puts.spawn(async move { dead.put(&l).await });
        }
        while let Some(put) = puts.join_next().await {
            put??;
        }
        kept.push(letters[0].clone());
    }
    Ok(kept)
}

/// Runs `op` 20 times; answers the median, the slowest, and what the last run said.
pub async fn time20<F, Fut>(mut op: F) -> (Duration, Duration, String)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = String>,
{
    let (mut runs, mut said) = (Vec::new(), String::new());
    for _ in 0..20 {
        let t = Instant::now();
        said = op().await;
        runs.push(t.elapsed());
    }
    runs.sort();
    (runs[runs.len() / 2], runs[runs.len() - 1], said)
}

/// A duration in milliseconds with one decimal.
pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}
