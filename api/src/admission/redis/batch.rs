//! Coalescing: the decisions of concurrent requests go to Redis as one script call.
//!
//! One batch is in flight at a time; requests arriving meanwhile wait for the next one, so an
//! idle api pays one round trip per update and a busy one far fewer round trips than updates.
//! The script decides a batch's updates one after the other, in arrival order, exactly as
//! separate calls would.

use std::time::Duration;

use redis::{RedisResult, Script, aio::ConnectionManager};
use tokio::sync::{mpsc, oneshot};

use super::super::{
    Ask, Rate,
    gcra::{Decision, Quota},
    policy::{Limit, Policy},
};

const MICROS_PER_SEC: u64 = 1_000_000;
/// Updates per script call at most: bounds how long one call holds Redis (~1 µs per key).
const MAX_BATCH: usize = 256;
/// Requests waiting for a batch at most; past it a request is decided locally at once.
const QUEUE: usize = 8192;

/// An [`Ask`] that owns its bot name, to wait in the queue.
pub struct Owned {
    bot: String,
    chat: Option<i64>,
    rates: [Rate; 3],
    policies: [Policy; 3],
    max_delay: Duration,
}

impl From<&Ask<'_>> for Owned {
    fn from(a: &Ask<'_>) -> Self {
        Owned {
            bot: a.bot.to_owned(),
            chat: a.chat,
            rates: a.rates,
            policies: a.policies,
            max_delay: a.max_delay,
        }
    }
}

/// A decision and the script's `now`, both in microseconds of its clock.
pub type Decided = (Decision, u64);

struct Job {
    ask: Owned,
    reply: oneshot::Sender<Result<Decided, String>>,
}

#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts the task that sends batches; it ends when the last `Batcher` is dropped.
    pub fn spawn(script: Script, conn: ConnectionManager, keys: String) -> Batcher {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, script, conn, keys));
        Batcher { tx }
    }

    /// Queues one decision and waits for its batch.
    pub async fn decide(&self, ask: &Ask<'_>) -> Result<Decided, String> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            ask: ask.into(),
            reply,
        };
        self.tx
            .try_send(job)
            .map_err(|_| "too many decisions waiting for Redis".to_owned())?;
        answer
            .await
            .map_err(|_| "the batch task stopped".to_owned())?
    }
}

async fn run(
    mut rx: mpsc::Receiver<Job>,
    script: Script,
    mut conn: ConnectionManager,
    keys: String,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        // A request that gave up (its budget ran out) has been decided locally already.
        jobs.retain(|j| !j.reply.is_closed());
        if jobs.is_empty() {
            continue;
        }
        let asks: Vec<&Owned> = jobs.iter().map(|j| &j.ask).collect();
        match invoke(&script, &mut conn, &keys, &asks, None).await {
            Ok(decided) => {
                for (job, d) in jobs.into_iter().zip(decided) {
                    let _ = job.reply.send(Ok(d));
                }
            }
            Err(e) => {
                let why = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(why.clone()));
                }
            }
        }
    }
}

/// Runs the script once for `asks`, in order; `now_us` replaces the server clock (tests).
pub async fn invoke(
    script: &Script,
    conn: &mut ConnectionManager,
    keys: &str,
    asks: &[&Owned],
    now_us: Option<u64>,
) -> RedisResult<Vec<Decided>> {
    let mut inv = script.prepare_invoke();
    inv.arg(now_us.map(|n| n.to_string()).unwrap_or_default())
        .arg(asks.len());
    for ask in asks {
        let quotas = ask
            .rates
            .map(|r| Quota::new(r.per_sec, r.burst, MICROS_PER_SEC));
        inv.key(format!("{keys}:g"))
            .key(format!("{keys}:b:{}", ask.bot));
        if let Some(chat) = ask.chat {
            inv.key(format!("{keys}:c:{}:{chat}", ask.bot));
        }
        let met = if ask.chat.is_some() { 3 } else { 2 };
        let max_delay = u64::try_from(ask.max_delay.as_micros()).unwrap_or(u64::MAX / 4);
        inv.arg(met).arg(max_delay);
        for (quota, policy) in quotas.iter().zip(ask.policies).take(met) {
            inv.arg(quota.t).arg(quota.tau).arg(policy.as_str());
        }
    }
    let flat: Vec<u64> = inv.invoke_async(conn).await?;
    let now = flat.last().copied().unwrap_or_default();
    Ok(flat
        .chunks_exact(3)
        .map(|c| (decision(c[0], c[1], c[2]), now))
        .collect())
}

fn decision(verdict: u64, bucket: u64, at: u64) -> Decision {
    let limit = match bucket {
        2 => Limit::Bot,
        3 => Limit::Chat,
        _ => Limit::Global,
    };
    match verdict {
        0 => Decision::Admit,
        1 => Decision::Delay { at },
        2 => Decision::Drop { limit },
        _ => Decision::Reject { limit, at },
    }
}
