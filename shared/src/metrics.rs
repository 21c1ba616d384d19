//! Every metric name and label key sluice exports, and the Prometheus recorder.
//!
//! Names follow `sluice_<name>_<unit>[_total]` in base units; labels are low-cardinality
//! (bounded outcomes, lanes, routes) and never carry a chat id, a bot secret or error text.
//! `deploy/` (rules, dashboards) must use exactly these names.

mod recorder;

pub use recorder::recorder;

/// HTTP requests served by the api, by route template, method and status.
pub const HTTP_REQUESTS_TOTAL: &str = "sluice_http_requests_total";
/// Latency of those requests, from first byte read to response.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "sluice_http_request_duration_seconds";
/// Webhook deliveries by what became of them (`outcome`), their lane and their `bot`: the name
/// of a registered bot (the registry bounds the label set), empty for a name it does not hold
/// (a 404 carries whatever name the caller made up).
pub const WEBHOOK_UPDATES_TOTAL: &str = "sluice_webhook_updates_total";
/// Signed-webhook deliveries by signature `scheme`, `outcome` and lane. Labelled by scheme, not
/// by source name: a 404 carries whatever name the caller made up, and a bounded label set is
/// worth more than per-source counts (those are in the `events` table).
pub const HOOK_DELIVERIES_TOTAL: &str = "sluice_hook_deliveries_total";
/// Time spent making an update durable in Redis (successful or not).
pub const ENQUEUE_DURATION_SECONDS: &str = "sluice_enqueue_duration_seconds";
/// Enqueues that failed, by `reason` (timeout, redis, replicas: fewer replicas than
/// `SLUICE_ENQUEUE_MIN_REPLICAS` confirmed in time, encode).
pub const ENQUEUE_FAILURES_TOTAL: &str = "sluice_enqueue_failures_total";
/// Jobs finished by a worker, by lane and outcome (done, retried, dead, panicked: the attempt
/// panicked and was re-queued, released: Postgres was down and the job went back unattempted,
/// parked: an earlier update of its key had not finished, stale: a copy of a job of an ordered
/// key that finished before).
pub const JOBS_TOTAL: &str = "sluice_jobs_total";
/// Jobs whose update a handler had already finished with (`handled_at` set: a replay after the
/// dedup window, a redelivery in another lane), so the handler was not run again; by lane.
pub const JOBS_ALREADY_HANDLED_TOTAL: &str = "sluice_jobs_already_handled_total";
/// Time a worker spent on one job.
pub const JOB_DURATION_SECONDS: &str = "sluice_job_duration_seconds";
/// Time from ingress accepting an update to a worker starting it.
pub const JOB_WAIT_SECONDS: &str = "sluice_job_wait_seconds";
/// Database operations a worker retried after a transient error.
pub const DB_RETRIES_TOTAL: &str = "sluice_db_retries_total";
/// Rows per batched `updates` insert.
pub const DB_BATCH_ROWS: &str = "sluice_db_batch_rows";
/// Dead letters waiting for replay or purge, per lane.
pub const DLQ_SIZE: &str = "sluice_dlq_size";
/// Finished-job bookkeeping removed from Redis by the vacuum.
pub const VACUUMED_TOTAL: &str = "sluice_vacuumed_total";
/// Dead letters deleted after `SLUICE_DLQ_RETENTION`, by `lane` and `set` (`dlq`: ours,
/// `apalis_dead`: apalis-redis's own dead set).
pub const DLQ_EXPIRED_TOTAL: &str = "sluice_dlq_expired_total";
/// Redis's `used_memory` (INFO memory), sampled by the api with the queue depth. Every replica
/// exports the same value: aggregate with `max`.
pub const REDIS_USED_MEMORY_BYTES: &str = "sluice_redis_used_memory_bytes";
/// Redis's `maxmemory` (0: no limit), sampled with [`REDIS_USED_MEMORY_BYTES`].
pub const REDIS_MAXMEMORY_BYTES: &str = "sluice_redis_maxmemory_bytes";
/// Jobs per lane and state (pending, scheduled, inflight, dead), sampled from Redis by the api.
/// Every replica exports the same true value: aggregate with `max by (lane, state)`, never `sum`.
pub const QUEUE_DEPTH: &str = "sluice_queue_depth";
/// Age of the oldest pending job per lane.
pub const QUEUE_OLDEST_AGE_SECONDS: &str = "sluice_queue_oldest_age_seconds";
/// Pooled Postgres connections by state (idle, in_use).
pub const DB_POOL_CONNECTIONS: &str = "sluice_db_pool_connections";
/// The pool's upper bound (`DB_POOL_MAX_CONNECTIONS`).
pub const DB_POOL_MAX_CONNECTIONS: &str = "sluice_db_pool_max_connections";
/// Time spent waiting for a pooled connection.
pub const DB_ACQUIRE_SECONDS: &str = "sluice_db_acquire_seconds";
/// Waits for a pooled connection that ran out of time (`DB_POOL_ACQUIRE_TIMEOUT`).
pub const DB_ACQUIRE_TIMEOUTS_TOTAL: &str = "sluice_db_acquire_timeouts_total";
/// Times the worker restarted a lane's consumer, by lane and `reason` (error: a Redis error,
/// ended: it stopped on its own, panic).
pub const WORKER_RESTARTS_TOTAL: &str = "sluice_worker_restarts_total";
/// 1 while the worker has stopped fetching because Postgres is unavailable, else 0.
pub const WORKER_FETCH_PAUSED: &str = "sluice_worker_fetch_paused";
/// Re-reads of an api registry (`registry`: bots, sources) that failed; the api keeps serving
/// the table it loaded last.
pub const REGISTRY_REFRESH_FAILURES_TOTAL: &str = "sluice_registry_refresh_failures_total";
/// Seconds since an api registry (`registry`: bots, sources) was last read from Postgres; absent
/// until its first load. Grows through a Postgres outage: changes to bots and sources wait.
pub const REGISTRY_AGE_SECONDS: &str = "sluice_registry_age_seconds";
/// What admission control decided for each verified update, by `lane` and `decision`
/// (see [`ADMISSION_DECISIONS`]).
pub const ADMISSION_TOTAL: &str = "sluice_admission_total";
/// Rate-limit decisions made by the local limiter because Redis (the `redis` scope) failed,
/// timed out or was being left alone after a failure, by `reason` (error, timeout, breaker).
pub const RATELIMIT_FALLBACK_TOTAL: &str = "sluice_ratelimit_fallback_total";
/// Telegram updates the per-chat limit could not key by their chat, by `reason` (see
/// [`crate::telegram::Fallback`]) and the `subject` it fell back to (`user`, or `none`: only the
/// global and bot limits applied).
pub const ADMISSION_SUBJECT_FALLBACKS_TOTAL: &str = "sluice_admission_subject_fallbacks_total";
/// Request bodies refused with 503 because their route's body budget
/// (`SLUICE_BODY_BUDGET_BYTES`) was spent, by `route` template.
pub const BODY_BUDGET_EXHAUSTED_TOTAL: &str = "sluice_body_budget_exhausted_total";
/// Connections of the HTTP listeners by how they ended (`reason`: done, idle_timeout,
/// header_timeout).
pub const HTTP_CONNECTIONS_CLOSED_TOTAL: &str = "sluice_http_connections_closed_total";
/// Connections open on the HTTP listeners (webhook and admin together).
pub const HTTP_CONNECTIONS_OPEN: &str = "sluice_http_connections_open";
/// Always 1; its labels say which build is running (`version`, `revision`): a dashboard joins
/// on it to see a rollout, an alert to see two builds side by side.
pub const BUILD_INFO: &str = "sluice_build_info";
/// How long one update held its ordering key: from the start of its first attempt to its
/// finish or dead letter (`SLUICE_ORDERING`).
pub const ORDER_HELD_SECONDS: &str = "sluice_order_held_seconds";
/// Ordering keys whose current update started and has not finished. Sampled from Redis by
/// every worker: aggregate with `max`.
pub const ORDER_KEYS_HELD: &str = "sluice_order_keys_held";
/// Age of the oldest current hold (0: none); aggregate with `max`.
pub const ORDER_OLDEST_HOLD_SECONDS: &str = "sluice_order_oldest_hold_seconds";
/// Jobs parked behind an earlier update of their key; aggregate with `max`.
pub const ORDER_PARKED: &str = "sluice_order_parked";
/// Jobs waiting in this worker's memory behind the running job of their key (per worker: sum
/// over workers).
pub const ORDER_WAITING: &str = "sluice_order_waiting";
/// How a key's next job got its turn once the job before it finished, by `how`: `run` (a
/// stores-only handler's job written with the jobs before it that waited in the same worker, in
/// their statement or one right after it), `handed` (it was waiting in the finishing worker's
/// memory), `chained`
/// (handed to the finishing slot, no re-queue), `requeued` (to the front of its lane: the chain
/// reached its bound, or the worker is stopping) or `resumed` (a chain taken over after its
/// worker died).
pub const ORDER_NEXT_TOTAL: &str = "sluice_order_next_total";
/// One call of an ordering script as the worker waits for it (`script`: start, finish), however
/// many jobs it carries: the Redis round trip a busy chat pays between two of its updates.
pub const ORDER_SCRIPT_SECONDS: &str = "sluice_order_script_seconds";
/// `SLUICE_ORDER_MAX_HOLD`, for the alert on holds longer than it.
pub const ORDER_MAX_HOLD_SECONDS: &str = "sluice_order_max_hold_seconds";
/// Rows per partition of `updates` / `events` (`table`, `partition`): Postgres's estimate
/// (`pg_class.reltuples`), sampled by every worker on an interval. Aggregate with `max`.
pub const PARTITION_ROWS: &str = "sluice_partition_rows";
/// Bytes per partition (heap, indexes, TOAST), sampled with [`PARTITION_ROWS`].
pub const PARTITION_BYTES: &str = "sluice_partition_bytes";
/// Age of the oldest daily partition's start, per `table`.
pub const PARTITION_OLDEST_AGE_SECONDS: &str = "sluice_partition_oldest_age_seconds";
/// How far ahead of now the daily partitions reach without a gap, per `table` (0: the
/// partition for now is missing; below a day: tomorrow's is).
pub const PARTITION_AHEAD_SECONDS: &str = "sluice_partition_ahead_seconds";
/// When a retention run (`SLUICE_RETENTION`) last finished, Unix seconds (0: never); read from
/// `retention_runs`, so every worker exports the same value.
pub const RETENTION_LAST_SUCCESS: &str = "sluice_retention_last_success_timestamp_seconds";
/// Partitions dropped by retention, per `table`.
pub const PARTITIONS_DROPPED_TOTAL: &str = "sluice_partitions_dropped_total";
/// Webhook replies (a Bot API method in a forward target's answer) by `method`: the method's
/// canonical name from the Bot API's list (so the label set is bounded), or `invalid` for an
/// answer that claims to be a reply and is not one Telegram would take; and by `outcome` of its
/// execution: `sent`, `refused` (by Telegram), `no_token`, `failed` (not sent or no answer), or
/// `invalid`.
pub const FORWARD_REPLIES_TOTAL: &str = "sluice_forward_replies_total";
/// Bot API calls by `method` (a known Bot API method, else `other`), `outcome` (one of
/// [`BOTAPI_OUTCOMES`]) and `via` (`client` or `proxy`).
pub const BOTAPI_CALLS_TOTAL: &str = "sluice_botapi_calls_total";
/// Time a Bot API call waited in the shared limiter (its turn, or a freeze) before it was sent.
pub const BOTAPI_WAIT_SECONDS: &str = "sluice_botapi_wait_seconds";
/// 1 while this process knows the `bot` to be frozen by a 429 from Telegram, else 0. Every
/// worker exports its own view: aggregate with `max by (bot)`.
pub const BOTAPI_FROZEN: &str = "sluice_botapi_frozen";
/// 429 answers from Telegram that froze a `bot`'s sends, counted by the worker that got them.
pub const BOTAPI_FREEZES_TOTAL: &str = "sluice_botapi_freezes_total";
/// Requests the Bot API proxy answered without calling Telegram, by `reason` (one of
/// [`BOTAPI_PROXY_REFUSALS`]): an unknown token, a path or verb it does not serve, a body too
/// large or unreadable.
pub const BOTAPI_PROXY_REFUSED_TOTAL: &str = "sluice_botapi_proxy_refused_total";

pub const LABEL_ROUTE: &str = "route";
pub const LABEL_METHOD: &str = "method";
pub const LABEL_STATUS: &str = "status";
pub const LABEL_OUTCOME: &str = "outcome";
pub const LABEL_LANE: &str = "lane";
pub const LABEL_REASON: &str = "reason";
pub const LABEL_STATE: &str = "state";
pub const LABEL_SCHEME: &str = "scheme";
pub const LABEL_DECISION: &str = "decision";
pub const LABEL_SUBJECT: &str = "subject";
pub const LABEL_SET: &str = "set";
pub const LABEL_BOT: &str = "bot";
/// Who made a Bot API call: `client` (a handler, a webhook reply) or `proxy` (a framework's own
/// call through the Bot API proxy).
pub const LABEL_VIA: &str = "via";
pub const LABEL_REGISTRY: &str = "registry";
pub const LABEL_VERSION: &str = "version";
pub const LABEL_REVISION: &str = "revision";

/// The git commit this build was made from: `SLUICE_REVISION` at build time (the Dockerfile
/// passes it), else `unknown`. Read at compile time, so a commit does not rebuild the crate.
pub const REVISION: &str = match option_env!("SLUICE_REVISION") {
    Some(rev) => rev,
    None => "unknown",
};
pub const LABEL_TABLE: &str = "table";
pub const LABEL_PARTITION: &str = "partition";
pub const LABEL_HOW: &str = "how";
pub const LABEL_SCRIPT: &str = "script";

/// Every value of the `decision` label of [`ADMISSION_TOTAL`].
pub const ADMISSION_DECISIONS: &[&str] = &[
    "admitted",
    "delayed",
    "rejected_global",
    "rejected_bot",
    "rejected_chat",
    "dropped",
    "shed",
    "duplicate",
];

/// Every value of the `reason` label of [`BOTAPI_PROXY_REFUSED_TOTAL`].
pub const BOTAPI_PROXY_REFUSALS: &[&str] = &[
    "unknown_token",
    "not_found",
    "method_not_allowed",
    "too_large",
    "bad_request",
    "unavailable",
];

/// Every value of the `outcome` label of [`BOTAPI_CALLS_TOTAL`].
pub const BOTAPI_OUTCOMES: &[&str] = &[
    "ok",
    "rejected",
    "retry_after",
    "server_error",
    "network",
    "timeout",
    "wait_too_long",
    "unavailable",
    "no_token",
    "invalid",
];

/// Every value of the `method` label: the standard methods, and `other` for any token a client
/// invents (the method is chosen by whoever connects, so it is never a label as received).
pub const HTTP_METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "other",
];

/// The `method` label of a request method: itself when standard, else `other`.
pub fn method_label(method: &str) -> &'static str {
    HTTP_METHODS
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("other")
}

/// Every metric name above, for tests that check `deploy/` uses only exported names.
pub const ALL: &[&str] = &[
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    WEBHOOK_UPDATES_TOTAL,
    HOOK_DELIVERIES_TOTAL,
    ENQUEUE_DURATION_SECONDS,
    ENQUEUE_FAILURES_TOTAL,
    JOBS_TOTAL,
    JOBS_ALREADY_HANDLED_TOTAL,
    JOB_DURATION_SECONDS,
    JOB_WAIT_SECONDS,
    DB_RETRIES_TOTAL,
    DB_BATCH_ROWS,
    DLQ_SIZE,
    VACUUMED_TOTAL,
    DLQ_EXPIRED_TOTAL,
    REDIS_USED_MEMORY_BYTES,
    REDIS_MAXMEMORY_BYTES,
    QUEUE_DEPTH,
    QUEUE_OLDEST_AGE_SECONDS,
    DB_POOL_CONNECTIONS,
    DB_POOL_MAX_CONNECTIONS,
    DB_ACQUIRE_SECONDS,
    DB_ACQUIRE_TIMEOUTS_TOTAL,
    WORKER_RESTARTS_TOTAL,
    WORKER_FETCH_PAUSED,
    REGISTRY_REFRESH_FAILURES_TOTAL,
    REGISTRY_AGE_SECONDS,
    ADMISSION_TOTAL,
    RATELIMIT_FALLBACK_TOTAL,
    ADMISSION_SUBJECT_FALLBACKS_TOTAL,
    HTTP_CONNECTIONS_CLOSED_TOTAL,
    HTTP_CONNECTIONS_OPEN,
    BODY_BUDGET_EXHAUSTED_TOTAL,
    ORDER_HELD_SECONDS,
    ORDER_KEYS_HELD,
    ORDER_OLDEST_HOLD_SECONDS,
    ORDER_PARKED,
    ORDER_WAITING,
    ORDER_NEXT_TOTAL,
    ORDER_SCRIPT_SECONDS,
    ORDER_MAX_HOLD_SECONDS,
    PARTITION_ROWS,
    PARTITION_BYTES,
    PARTITION_OLDEST_AGE_SECONDS,
    PARTITION_AHEAD_SECONDS,
    RETENTION_LAST_SUCCESS,
    PARTITIONS_DROPPED_TOTAL,
    FORWARD_REPLIES_TOTAL,
    BOTAPI_CALLS_TOTAL,
    BOTAPI_WAIT_SECONDS,
    BOTAPI_FROZEN,
    BOTAPI_FREEZES_TOTAL,
    BOTAPI_PROXY_REFUSED_TOTAL,
];
