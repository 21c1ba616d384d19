//! The Prometheus recorder: installed once per process, with every metric described.

use std::sync::OnceLock;

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

use super::*;

/// Latency buckets from 0.5 ms to 60 s: webhook answers live at the low end, job waits at the
/// high end, and Telegram gives up on an answer after 60 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// Buckets from 50 µs to 1 s for one Redis round trip: a healthy one on a local network takes
/// a fraction of a millisecond, below the first of [`SECONDS_BUCKETS`].
const ROUND_TRIP_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's Prometheus recorder, installed on first use with sluice's metrics described.
///
/// A process has one global recorder; tests that start several apps in one process share it.
pub fn recorder() -> Result<PrometheusHandle, BuildError> {
    // Built once under the OnceLock, so concurrent first callers (tests starting apps in
    // parallel) all get the handle of the recorder that was installed, never a stray one.
    let mut error = None;
    let handle = HANDLE.get_or_init(|| {
        // A full name's buckets win over the suffix's.
        let builder = match PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(ORDER_SCRIPT_SECONDS.into()),
                    ROUND_TRIP_BUCKETS,
                )
            }) {
            Ok(b) => b,
            Err(e) => {
                error = Some(e);
                PrometheusBuilder::new()
            }
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_ok() {
            describe();
            metrics::gauge!(BUILD_INFO,
                LABEL_VERSION => env!("CARGO_PKG_VERSION"), LABEL_REVISION => REVISION)
            .set(1.0);
            // Histogram samples pile up until drained; a scrape drains them, but a process
            // nobody scrapes must not grow (seen in a 5-minute endurance run: ~50 B per update).
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(std::time::Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                });
        }
        handle
    });
    match error {
        Some(e) => Err(e),
        None => Ok(handle.clone()),
    }
}

fn describe() {
    describe_gauge!(
        BUILD_INFO,
        "1, labelled with the running build's version and revision."
    );
    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        "HTTP requests served, by route, method and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "HTTP request latency."
    );
    describe_counter!(
        WEBHOOK_UPDATES_TOTAL,
        "Webhook deliveries by outcome, lane and registered bot."
    );
    describe_counter!(
        HOOK_DELIVERIES_TOTAL,
        "Signed-webhook deliveries by signature scheme, outcome and lane."
    );
    describe_histogram!(
        ENQUEUE_DURATION_SECONDS,
        Unit::Seconds,
        "Time to make an update durable in Redis."
    );
    describe_counter!(
        ENQUEUE_FAILURES_TOTAL,
        "Enqueues that failed or ran out of time, by reason."
    );
    describe_counter!(JOBS_TOTAL, "Jobs finished by workers, by lane and outcome.");
    describe_counter!(
        FORWARD_REPLIES_TOTAL,
        "Webhook replies in forward targets' answers, by Bot API method and outcome (sent, refused, no_token, failed; invalid: not one Telegram takes)."
    );
    describe_counter!(
        JOBS_ALREADY_HANDLED_TOTAL,
        "Jobs whose update was already handled, so the handler was not run again, by lane."
    );
    describe_histogram!(
        JOB_DURATION_SECONDS,
        Unit::Seconds,
        "Time a worker spent on one job."
    );
    describe_histogram!(
        JOB_WAIT_SECONDS,
        Unit::Seconds,
        "Time from ingress to a worker starting the job."
    );
    describe_counter!(
        DB_RETRIES_TOTAL,
        "Database operations retried after a transient error."
    );
    describe_histogram!(DB_BATCH_ROWS, "Rows per batched updates insert.");
    describe_gauge!(
        DLQ_SIZE,
        "Dead letters waiting for replay or purge, per lane."
    );
    describe_counter!(
        VACUUMED_TOTAL,
        "Finished jobs whose bookkeeping was removed from Redis."
    );
    describe_counter!(
        DLQ_EXPIRED_TOTAL,
        "Dead letters deleted after SLUICE_DLQ_RETENTION, by lane and set (dlq, apalis_dead)."
    );
    describe_gauge!(
        REDIS_USED_MEMORY_BYTES,
        Unit::Bytes,
        "Redis used_memory; every api replica exports it: aggregate with max."
    );
    describe_gauge!(
        REDIS_MAXMEMORY_BYTES,
        Unit::Bytes,
        "Redis maxmemory (0: no limit); aggregate with max."
    );
    describe_gauge!(
        QUEUE_DEPTH,
        "Jobs per lane and state; aggregate replicas with max, not sum."
    );
    describe_gauge!(
        QUEUE_OLDEST_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest pending job per lane."
    );
    describe_gauge!(DB_POOL_CONNECTIONS, "Pooled Postgres connections by state.");
    describe_gauge!(
        PARTITION_ROWS,
        "Estimated rows per partition of updates/events; aggregate with max."
    );
    describe_gauge!(
        PARTITION_BYTES,
        Unit::Bytes,
        "Bytes per partition of updates/events; aggregate with max."
    );
    describe_gauge!(
        PARTITION_OLDEST_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest daily partition, per table."
    );
    describe_gauge!(
        PARTITION_AHEAD_SECONDS,
        Unit::Seconds,
        "How far ahead of now the daily partitions reach without a gap, per table."
    );
    describe_gauge!(
        RETENTION_LAST_SUCCESS,
        Unit::Seconds,
        "When a retention run last finished (Unix seconds, 0: never)."
    );
    describe_counter!(
        PARTITIONS_DROPPED_TOTAL,
        "Partitions dropped by retention, per table."
    );
    describe_gauge!(DB_POOL_MAX_CONNECTIONS, "Upper bound of the Postgres pool.");
    describe_histogram!(
        DB_ACQUIRE_SECONDS,
        Unit::Seconds,
        "Time waiting for a pooled connection."
    );
    describe_counter!(
        DB_ACQUIRE_TIMEOUTS_TOTAL,
        "Waits for a pooled connection that timed out."
    );
    describe_counter!(
        WORKER_RESTARTS_TOTAL,
        "Lane consumers restarted, by lane and reason (error, ended, panic)."
    );
    describe_gauge!(
        WORKER_FETCH_PAUSED,
        "1 while the worker does not fetch because Postgres is unavailable."
    );
    describe_counter!(
        REGISTRY_REFRESH_FAILURES_TOTAL,
        "Failed re-reads of an api registry (bots, sources); the last loaded table stays in use."
    );
    describe_gauge!(
        REGISTRY_AGE_SECONDS,
        Unit::Seconds,
        "Time since an api registry (bots, sources) was last read from Postgres."
    );
    describe_counter!(
        ADMISSION_TOTAL,
        "Admission decisions for verified updates, by lane and decision."
    );
    describe_counter!(
        RATELIMIT_FALLBACK_TOTAL,
        "Rate-limit decisions taken locally because Redis failed, by reason."
    );
    describe_counter!(
        ADMISSION_SUBJECT_FALLBACKS_TOTAL,
        "Updates limited by their user or by no chat limit at all because their chat id was missing or unusable, by reason and subject."
    );
    describe_counter!(
        HTTP_CONNECTIONS_CLOSED_TOTAL,
        "HTTP connections closed, by reason (done, idle_timeout, header_timeout)."
    );
    describe_gauge!(HTTP_CONNECTIONS_OPEN, "Open HTTP connections.");
    describe_counter!(
        BODY_BUDGET_EXHAUSTED_TOTAL,
        "Request bodies refused because their route's body budget was spent, by route."
    );
    describe_histogram!(
        ORDER_HELD_SECONDS,
        Unit::Seconds,
        "How long one update held its ordering key, first attempt to finish or dead letter."
    );
    describe_gauge!(
        ORDER_KEYS_HELD,
        "Ordering keys whose current update started and has not finished."
    );
    describe_gauge!(
        ORDER_OLDEST_HOLD_SECONDS,
        Unit::Seconds,
        "Age of the oldest current hold of an ordering key."
    );
    describe_gauge!(
        ORDER_PARKED,
        "Jobs parked behind an earlier update of their key."
    );
    describe_gauge!(
        ORDER_WAITING,
        "Jobs waiting in this worker's memory behind the running job of their key."
    );
    describe_counter!(
        ORDER_NEXT_TOTAL,
        "How a key's next job got its turn: handed, chained, requeued or resumed."
    );
    describe_histogram!(
        ORDER_SCRIPT_SECONDS,
        Unit::Seconds,
        "One call of an ordering script (start, finish) as the worker waited for it."
    );
    describe_gauge!(
        ORDER_MAX_HOLD_SECONDS,
        Unit::Seconds,
        "SLUICE_ORDER_MAX_HOLD: the longest a failing update may hold its key."
    );
    describe_counter!(BOTAPI_CALLS_TOTAL, "Bot API calls, by method and outcome.");
    describe_histogram!(
        BOTAPI_WAIT_SECONDS,
        Unit::Seconds,
        "Time a Bot API call waited in the shared limiter before it was sent."
    );
    describe_gauge!(
        BOTAPI_FROZEN,
        "1 while a bot's sends are frozen by a 429 from Telegram, per bot."
    );
    describe_counter!(
        BOTAPI_FREEZES_TOTAL,
        "429 answers from Telegram that froze a bot's sends, per bot."
    );
}
