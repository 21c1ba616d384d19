//! How much work waits in each lane: the signal Kubernetes scales workers on and Grafana alerts
//! on. Read from Redis in one script call for all lanes, O(1) per lane (plus one SCARD per live
//! worker for the in-flight count).
//!
//! Every api replica reads the same Redis and so exports the same, true values: queries must
//! aggregate them with `max by (lane, state)`, never `sum` (which would multiply the backlog by the
//! number of replicas and pin an HPA at its maximum).

use std::{
    sync::LazyLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{Script, aio::ConnectionManager};

use crate::{lanes::Lane, metrics as m};

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

static DEPTH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
-- ARGV[1] now (unix s); KEYS: per lane, its queue name
local out = {}
for i, q in ipairs(KEYS) do
    local active = redis.call('LLEN', q .. ':active')
    local due = redis.call('ZCOUNT', q .. ':scheduled', '-inf', ARGV[1])
    local later = redis.call('ZCOUNT', q .. ':scheduled', '(' .. ARGV[1], '+inf')
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
return out
",
    )
});

/// Reads every lane's depth under `prefix`.
pub async fn sample(
    conn: &mut ConnectionManager,
    prefix: &str,
) -> redis::RedisResult<[LaneDepth; 3]> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut call = DEPTH.prepare_invoke();
    for lane in Lane::ALL {
        call.key(lane.queue_name(prefix));
    }
    let rows: Vec<(u64, u64, u64, u64, String)> =
        call.arg(now.as_secs()).invoke_async(conn).await?;
    let mut out = [LaneDepth::default(); 3];
    for (slot, (pending, scheduled, inflight, dead, head)) in out.iter_mut().zip(rows) {
        let oldest_age = ulid::Ulid::from_string(&head)
            .ok()
            .map(|id| now.saturating_sub(Duration::from_millis(id.timestamp_ms())))
            .unwrap_or_default();
        *slot = LaneDepth {
            pending,
            scheduled,
            inflight,
            dead,
            oldest_age,
        };
    }
    Ok(out)
}

/// Publishes a sample as `sluice_queue_depth{lane,state}` and `sluice_queue_oldest_age_seconds`.
pub fn export(depths: &[LaneDepth; 3]) {
    for (lane, d) in Lane::ALL.iter().zip(depths) {
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

/// Samples and exports every `every` (at most once a second is plenty for an HPA), with Redis's
/// memory use ([`crate::redis_memory`]), until aborted.
pub async fn run(mut conn: ConnectionManager, prefix: String, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sample(&mut conn, &prefix).await {
            Ok(depths) => export(&depths),
            Err(e) => tracing::debug!(error = %e, "queue depth not sampled: redis unavailable"),
        }
        match crate::redis_memory::sample(&mut conn).await {
            Ok(mem) => crate::redis_memory::export(mem),
            Err(e) => tracing::debug!(error = %e, "redis memory not sampled"),
        }
    }
}
