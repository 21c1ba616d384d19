//! How much work waits in each lane: read by the api's load shedding, and the signal
//! Kubernetes scales workers on and Grafana alerts on. Read from Redis in one script call for all
//! lanes and states, O(1) per lane (plus one SCARD per live worker for the in-flight count), by
//! one sampler ([`run`]) that serves both.
//!
//! Every api replica reads the same Redis and so exports the same, true values: queries must
//! aggregate them with `max by (lane, state)`, never `sum` (which would multiply the backlog by the
//! number of replicas and pin an HPA at its maximum).

use std::{
    sync::LazyLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{Script, aio::ConnectionManager};

use crate::{
    lanes::{Lane, PerLane},
    metrics as m,
};

/// One lane's depth at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LaneDepth {
    /// Due and waiting for a worker (active list + due part of the scheduled set).
    pub pending: u64,
    /// Waiting for a later time (delayed admission, retries).
    pub scheduled: u64,
    /// Fetched by a worker and not yet acknowledged.
    pub inflight: u64,
    /// Dead letters (ours) plus apalis's own dead set.
    pub dead: u64,
    /// Age of the oldest pending job, from its ULID's timestamp; 0 when none is pending.
    pub oldest_age: Duration,
}

impl LaneDepth {
    /// The jobs waiting for a worker, now or later: what load shedding weighs.
    pub fn backlog(&self) -> u64 {
        self.pending + self.scheduled
    }
}

static DEPTH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- ARGV[1] now (unix s), ARGV[2] '1': every state and the age, else the backlog only (the
-- shedding ticks between exports), then per lane its ordered due set (retries that hold their
-- key: counted as scheduled jobs are); KEYS: per lane, its queue name
local out = {}
for i, q in ipairs(KEYS) do
    local active = redis.call('LLEN', q .. ':active')
    local due = redis.call('ZCOUNT', q .. ':scheduled', '-inf', ARGV[1])
        + redis.call('ZCOUNT', ARGV[2 + i], '-inf', ARGV[1])
    local later = redis.call('ZCOUNT', q .. ':scheduled', '(' .. ARGV[1], '+inf')
        + redis.call('ZCOUNT', ARGV[2 + i], '(' .. ARGV[1], '+inf')
    if ARGV[2] ~= '1' then
        table.insert(out, {active + due, later, 0, 0, ''})
    else
        local inflight = 0
        for _, w in ipairs(redis.call('ZRANGE', q .. ':workers', 0, -1)) do
            inflight = inflight + redis.call('SCARD', q .. ':inflight:' .. w)
        end
        local dead = redis.call('ZCARD', q .. ':dlq') + redis.call('SCARD', q .. ':dead')
        local head = redis.call('LINDEX', q .. ':active', 0)
        if not head then
            local first = redis.call('ZRANGEBYSCORE', q .. ':scheduled', '-inf', ARGV[1], 'LIMIT', 0, 1)
            head = first[1] or ''
        end
        table.insert(out, {active + due, later, inflight, dead, head})
    end
end
return out
",
    )
});

/// Reads every lane's depth under `prefix`. apalis-redis pushes every task through the
/// scheduled set (score: run time in Unix seconds) and a worker's fetch promotes the due ones to
/// the active list, so "pending" is the list plus the due part of the set.
pub async fn sample(
    conn: &mut ConnectionManager,
    prefix: &str,
) -> redis::RedisResult<PerLane<LaneDepth>> {
    sample_states(conn, prefix, true).await
}

/// As [`sample`]; with `all_states` false only the backlog (pending, scheduled) is read, and
/// in-flight, dead and the age are 0: what shedding needs ten times a second, at three commands
/// a lane (five with the ordered retries), whatever the number of workers.
async fn sample_states(
    conn: &mut ConnectionManager,
    prefix: &str,
    all_states: bool,
) -> redis::RedisResult<PerLane<LaneDepth>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut call = DEPTH.prepare_invoke();
    for lane in Lane::ALL {
        call.key(lane.queue_name(prefix));
    }
    call.arg(now.as_secs()).arg(u8::from(all_states));
    for lane in Lane::ALL {
        call.arg(super::order::order_due_set(prefix, lane));
    }
    let rows: Vec<(u64, u64, u64, u64, String)> = call.invoke_async(conn).await?;
    if rows.len() != Lane::ALL.len() {
        return Err(redis::RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "the depth script answered for another number of lanes",
        )));
    }
    let mut rows = rows.into_iter();
    Ok(PerLane::from_fn(|_| {
        let (pending, scheduled, inflight, dead, head) = rows.next().unwrap_or_default();
        let oldest_age = ulid::Ulid::from_string(&head)
            .ok()
            .map(|id| now.saturating_sub(Duration::from_millis(id.timestamp_ms())))
            .unwrap_or_default();
        LaneDepth {
            pending,
            scheduled,
            inflight,
            dead,
            oldest_age,
        }
    }))
}

/// Publishes a sample as `sluice_queue_depth{lane,state}` and `sluice_queue_oldest_age_seconds`.
pub fn export(depths: &PerLane<LaneDepth>) {
    for (lane, d) in depths.iter() {
        let lane = lane.as_str();
        for (state, value) in [
            ("pending", d.pending),
            ("scheduled", d.scheduled),
            ("inflight", d.inflight),
            ("dead", d.dead),
        ] {
            metrics::gauge!(m::QUEUE_DEPTH, m::LABEL_LANE => lane, m::LABEL_STATE => state)
                .set(value as f64);
        }
        metrics::gauge!(m::QUEUE_OLDEST_AGE_SECONDS, m::LABEL_LANE => lane)
            .set(d.oldest_age.as_secs_f64());
    }
}

/// How often [`run`] samples, and how often it publishes.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// The period of the samples, and the longest one may take: load shedding needs a fresh
    /// backlog (100 ms), the metrics do not.
    pub sample_every: Duration,
    /// How often a sample is exported as metrics, with Redis's memory use
    /// (`SLUICE_DEPTH_INTERVAL`); a multiple of `sample_every` keeps the period exact.
    pub export_every: Duration,
}

/// Samples every lane every `sample_every` and hands each sample to `observe` (`None`: Redis did
/// not answer within the period); every `export_every` also exports it (waiting longer for it
/// if need be), with Redis's memory use ([`crate::redis_memory`]). Runs until aborted.
pub async fn run(
    mut conn: ConnectionManager,
    prefix: String,
    cadence: Cadence,
    mut observe: impl FnMut(Option<&PerLane<LaneDepth>>) + Send,
) {
    // Before the first tick's instant, so that the first sample is exported.
    let mut next_export = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(cadence.sample_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let at = tick.tick().await;
        let export_due = at >= next_export;
        let depths = {
            let mut call = std::pin::pin!(sample_states(&mut conn, &prefix, export_due));
            match tokio::time::timeout(cadence.sample_every, call.as_mut()).await {
                Ok(sampled) => {
                    let depths = sampled
                        .inspect_err(|e| tracing::debug!(error = %e, "queue depth not sampled"))
                        .ok();
                    observe(depths.as_ref());
                    depths
                }
                // Shedding wants a sample of this period or none; the gauges wait for a slow
                // answer (bounded by the connection's response timeout), as they always have.
                Err(_) => {
                    observe(None);
                    match export_due {
                        true => call.await.ok(),
                        false => None,
                    }
                }
            }
        };
        if !export_due {
            continue;
        }
        next_export = at + cadence.export_every;
        if let Some(depths) = &depths {
            export(depths);
        }
        match crate::redis_memory::sample(&mut conn).await {
            Ok(mem) => crate::redis_memory::export(mem),
            Err(e) => tracing::debug!(error = %e, "redis memory not sampled"),
        }
    }
}
