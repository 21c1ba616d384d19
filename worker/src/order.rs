//! Per-key ordering on the worker side (issue 15): a job of an ordered key starts only once the
//! key's previous job finished; one that comes early is parked on its key (not in its lane) and
//! gets its turn when the job before it finishes: handed to the finishing slot ([`chain`]), or,
//! once that slot's chain reached its bound, woken to the front of its lane. One that keeps
//! failing holds its key for at most `SLUICE_ORDER_MAX_HOLD`. The enqueue side and the Redis
//! layout are in `sluice_shared::queue::order`.
//!
//! Cost per ordered job: one `start.lua` and one `finish.lua` call; a parked job also costs a
//! fetch and an acknowledgement of its own, and a second of each only when it is re-queued at a
//! chain's bound. Nothing polls: a parked job is handed on by the finish of the job before it,
//! and the lane that receives a re-queued one is woken in this process at once ([`Wakers`]).

pub mod chain;
pub mod local;

use std::{
    sync::{Arc, LazyLock},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures::task::AtomicWaker;
use redis::{Script, aio::ConnectionManager};
use sluice_shared::{
    lanes::{Lane, PerLane},
    metrics as m,
    queue::{
        QueueConfig, lane_config,
        order::{OrderConfig, OrderTag, Ordering, order_namespace},
    },
};
use ulid::Ulid;

use self::chain::Chained;

static START: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("order/start.lua")));
static FINISH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("order/finish.lua")));

/// How long a key's state outlives its last finished job when nothing else of it is queued:
/// long enough that a copy of a finished job re-run after a lost acknowledgement (orphan
/// recovery, within `SLUICE_ORPHAN_TIMEOUT_S`) is still recognised as stale.
const IDLE_TTL: Duration = Duration::from_secs(600);

/// Whether a job may run now.
#[derive(Debug)]
pub enum Start {
    /// Its turn: it holds its key since this Unix millisecond (its first attempt).
    Go { since_ms: i64 },
    /// Earlier work of its key has not finished: parked until it has.
    Parked,
    /// It finished before (a copy re-run after a lost acknowledgement): nothing to do.
    Stale,
    /// Its key's state expired: it runs unordered.
    Free,
    /// This task carried a chain of its key and its worker died: the chained job that still
    /// holds the key runs again here (`chain`).
    Resume(Chained),
}

/// How a finished job's key goes on.
#[derive(Debug)]
pub enum Next {
    /// Nothing for this slot: no next job, or it was woken to its lane.
    Nothing,
    /// The next job waits in this process and holds the key since `since_ms` (`local`).
    Handed { since_ms: i64 },
    /// The next job was parked and runs in this slot (`chain`).
    Chained(Chained),
}

/// Wakes a lane's consumer in this process when a job is woken into its lane, so the job does
/// not wait for the next poll tick (`crate::poll::Tick` registers each lane's waker here).
#[derive(Clone)]
pub struct Wakers(Arc<PerLane<AtomicWaker>>);

impl Default for Wakers {
    fn default() -> Self {
        Wakers(Arc::new(PerLane::from_fn(|_| AtomicWaker::new())))
    }
}

impl Wakers {
    pub fn of(&self, lane: Lane) -> &AtomicWaker {
        &self.0[lane]
    }
}

/// The worker's side of ordering; cheap to share.
pub struct Orderer {
    conn: ConnectionManager,
    namespace: String,
    lanes: PerLane<apalis_redis::Config>,
    busy_ttl: Duration,
    pub max_hold: Duration,
    pub wakers: Wakers,
    enabled: bool,
}

impl Orderer {
    pub fn new(
        conn: ConnectionManager,
        prefix: &str,
        queue: &QueueConfig,
        order: &OrderConfig,
    ) -> Self {
        Orderer {
            conn,
            namespace: order_namespace(prefix),
            lanes: PerLane::from_fn(|lane| lane_config(prefix, lane, queue)),
            busy_ttl: queue.dedup_ttl,
            max_hold: order.max_hold,
            wakers: Wakers::default(),
            enabled: order.ordering != Ordering::Off,
        }
    }

    /// The job's place in its key's order, from its task's meta fields; `None` when it is not
    /// ordered, or ordering is off here (jobs queued while it was on then run unordered).
    pub fn tag(&self, get: impl Fn(&str) -> Option<String>) -> Option<OrderTag> {
        self.enabled.then(|| OrderTag::from_meta(get)).flatten()
    }

    fn state(&self, key: &str) -> String {
        format!("{}:k:{key}", self.namespace)
    }

    /// Whether the job `task_id` of `lane` may start now; parks it when it may not.
    /// `row_written`: its row is written and was not handled, which a parked job carries to
    /// whoever runs it ([`Chained::written`]).
    pub async fn start(
        &self,
        tag: &OrderTag,
        task_id: &str,
        lane: Lane,
        row_written: bool,
    ) -> redis::RedisResult<Start> {
        let mut conn = self.conn.clone();
        let (what, since_ms, seq, bytes): (String, i64, u64, Vec<u8>) = START
            .key(self.state(&tag.key))
            .key(format!("{}:holds", self.namespace))
            .key(format!("{}:parked", self.namespace))
            .key(self.lanes[lane].job_data_hash())
            .arg(tag.seq)
            .arg(now_ms())
            .arg(self.busy_ttl.as_secs().max(1))
            .arg(task_id)
            .arg(lane.as_str())
            .arg(&tag.key)
            .arg(if row_written { "1" } else { "" })
            .invoke_async(&mut conn)
            .await?;
        Ok(match what.as_str() {
            "go" => Start::Go { since_ms },
            "parked" => Start::Parked,
            "stale" => Start::Stale,
            "resume" => {
                metrics::counter!(m::ORDER_NEXT_TOTAL, m::LABEL_HOW => "resumed").increment(1);
                // The bytes follow the lane name and a newline (start.lua's parked format).
                let job = bytes.splitn(2, |b| *b == b'\n').nth(1).unwrap_or_default();
                let held = OrderTag {
                    key: tag.key.clone(),
                    seq,
                };
                match self.decoded(held, since_ms, job).await? {
                    Some(chained) => Start::Resume(chained),
                    None => Start::Stale,
                }
            }
            _ => Start::Free,
        })
    }

    /// The job `tag` finished (done or dead-lettered), with the jobs of its run from `first`
    /// (`first == tag.seq` but for a run written together, `local`): its key moves on. With
    /// `hand` its next job waits in this process and holds the key from now ([`Next::Handed`]).
    /// Otherwise the next job, if parked, gets its turn: returned to run in this slot when
    /// `carrier` (the apalis task running this slot's chain) is given, else woken to the front
    /// of its lane. Records how long the key was held.
    pub async fn finish(
        &self,
        tag: &OrderTag,
        first: u64,
        carrier: Option<&str>,
        hand: bool,
    ) -> redis::RedisResult<Next> {
        let mut conn = self.conn.clone();
        let now = now_ms();
        let mut call = FINISH.key(self.state(&tag.key));
        call.key(format!("{}:holds", self.namespace))
            .key(format!("{}:parked", self.namespace))
            .arg(tag.seq)
            .arg(now)
            .arg(self.busy_ttl.as_secs().max(1))
            .arg(IDLE_TTL.as_secs())
            .arg(&tag.key)
            .arg(Ulid::generate().to_string())
            .arg(carrier.unwrap_or_default())
            .arg(if hand { "1" } else { "" })
            .arg(first.min(tag.seq));
        for (lane, config) in self.lanes.iter() {
            call.arg(lane.as_str())
                .arg(config.job_data_hash())
                .arg(config.job_meta_hash())
                .arg(config.active_jobs_list());
        }
        let (held_ms, how, lane, bytes, written): (i64, String, String, Vec<u8>, String) =
            call.invoke_async(&mut conn).await?;
        if held_ms >= 0 {
            metrics::histogram!(m::ORDER_HELD_SECONDS).record(held_ms as f64 / 1000.0);
        }
        match how.as_str() {
            "handed" => {
                metrics::counter!(m::ORDER_NEXT_TOTAL, m::LABEL_HOW => "handed").increment(1);
                Ok(Next::Handed { since_ms: now })
            }
            "chained" => {
                metrics::counter!(m::ORDER_NEXT_TOTAL, m::LABEL_HOW => "chained").increment(1);
                let next = OrderTag {
                    key: tag.key.clone(),
                    seq: tag.seq + 1,
                };
                Ok(match self.decoded(next, now, &bytes).await? {
                    Some(chained) => Next::Chained(Chained {
                        written: written == "1",
                        ..chained
                    }),
                    None => Next::Nothing,
                })
            }
            "requeued" => {
                metrics::counter!(m::ORDER_NEXT_TOTAL, m::LABEL_HOW => "requeued").increment(1);
                if let Ok(lane) = lane.parse::<Lane>() {
                    self.wakers.of(lane).wake();
                }
                Ok(Next::Nothing)
            }
            _ => Ok(Next::Nothing),
        }
    }

    /// A chained job that will not finish in this slot (re-queued for a retry, released in a
    /// database outage) now has its own task: the key forgets the chain and its parked copy, so
    /// the carrier's re-delivery after a crash does not run it a second time.
    pub async fn unchain(&self, tag: &OrderTag) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        redis::cmd("HDEL")
            .arg(self.state(&tag.key))
            .arg("c")
            .arg(format!("p:{}", tag.seq))
            .query_async(&mut conn)
            .await
    }

    /// The handed-on job `next` from its bytes. Bytes that are not a job (written by an
    /// incompatible version) cannot run: the key moves on without it, loudly, rather than stay
    /// held by it.
    async fn decoded(
        &self,
        next: OrderTag,
        since_ms: i64,
        bytes: &[u8],
    ) -> redis::RedisResult<Option<Chained>> {
        match Chained::decode(&next.key, next.seq, since_ms, bytes) {
            Ok(chained) => Ok(Some(chained)),
            Err(e) => {
                tracing::error!(error = %e, "dropping a parked job that cannot be decoded");
                let seq = next.seq;
                Box::pin(self.finish(&next, seq, None, false)).await?;
                Ok(None)
            }
        }
    }

    /// How long a job that holds its key since `since_ms` has held it.
    pub fn held_for(since_ms: i64) -> Duration {
        Duration::from_millis((now_ms() - since_ms).max(0) as u64)
    }

    /// Exports the ordering gauges every `every` until the process stops: they describe the
    /// whole queue (every worker exports the same values: aggregate with `max`), but for the
    /// jobs waiting in this worker's memory (`local`: aggregate with `sum`).
    pub async fn export(self: Arc<Self>, local: Arc<local::LocalKeys>, every: Duration) {
        metrics::gauge!(m::ORDER_MAX_HOLD_SECONDS).set(self.max_hold.as_secs_f64());
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            metrics::gauge!(m::ORDER_WAITING).set(local.waiting() as f64);
            if let Err(e) = self.sample().await {
                tracing::warn!(error = %e, "could not sample the ordering gauges");
            }
        }
    }

    async fn sample(&self) -> redis::RedisResult<()> {
        let holds = format!("{}:holds", self.namespace);
        let mut conn = self.conn.clone();
        // A hold older than a state's lifetime belongs to a key whose state expired.
        let stale = now_ms() - self.busy_ttl.as_millis() as i64;
        let (_, held, oldest, parked): ((), u64, Vec<(String, i64)>, Option<i64>) = redis::pipe()
            .cmd("ZREMRANGEBYSCORE")
            .arg(&holds)
            .arg("-inf")
            .arg(stale)
            .ignore()
            .zcard(&holds)
            .zrange_withscores(&holds, 0, 0)
            .get(format!("{}:parked", self.namespace))
            .query_async(&mut conn)
            .await
            .map(|(h, o, p)| ((), h, o, p))?;
        metrics::gauge!(m::ORDER_KEYS_HELD).set(held as f64);
        let age = oldest
            .first()
            .map_or(0.0, |(_, since)| Orderer::held_for(*since).as_secs_f64());
        metrics::gauge!(m::ORDER_OLDEST_HOLD_SECONDS).set(age);
        metrics::gauge!(m::ORDER_PARKED).set(parked.unwrap_or(0).max(0) as f64);
        Ok(())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}
