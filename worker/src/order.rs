//! Per-key ordering on the worker side (issue 15): a job of an ordered key starts only once the
//! key's previous job finished; one that comes early is parked on its key (not in its lane) and
//! gets its turn when the job before it finishes: handed to the finishing slot ([`chain`]), or,
//! once that slot's chain reached its bound, woken to the front of its lane. One that keeps
//! failing holds its key for at most `SLUICE_ORDER_MAX_HOLD`. The enqueue side and the Redis
//! layout are in `sluice_shared::queue::order`.
//!
//! Cost per ordered job: one `start.lua` and one `finish.lua` run, batched with the other jobs'
//! that come at the same moment into one script call each ([`batched`]; a lone one goes straight
//! from its job's task, [`Waiting`]); a parked job also costs
//! a fetch and an acknowledgement of its own, and a second of each only when it is re-queued at a
//! chain's bound. Nothing polls: a parked job is handed on by the finish of the job before it,
//! and the lane that receives a re-queued one is woken in this process at once ([`Wakers`]).

pub mod chain;
pub mod local;

use std::{
    sync::{
        Arc, LazyLock,
        atomic::{AtomicUsize, Ordering as AtomicOrdering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures::task::AtomicWaker;
use redis::{Script, aio::ConnectionManager};
use sluice_shared::{
    coalesce,
    lanes::{Lane, PerLane},
    metrics as m,
    queue::{
        QueueConfig, lane_config,
        order::{OrderConfig, OrderTag, Ordering, order_namespace},
    },
};
use tokio::sync::{mpsc, oneshot};
use ulid::Ulid;

use self::chain::Chained;

/// `start.lua` and `finish.lua`: each answers a batch of jobs, one answer per job, as if each
/// job had been asked alone, in the batch's order. A failing job fails the whole call, as it
/// would fail its own.
static START: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("order/start.lua")));
static FINISH: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("order/finish.lua")));

/// Jobs per batched script call, and calls in flight (of starts, and of finishes): the jobs of a
/// fetched batch share a few round trips, while a lone job (a hot chat's next one) never waits
/// for a batch to fill (`sluice_shared::coalesce`).
const SCRIPT_BATCH: usize = 64;
const SCRIPT_PARALLEL: usize = 4;

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

/// Most consumers a lane has in one process (`SLUICE_LANE_CONSUMERS`).
pub const MAX_LANE_CONSUMERS: usize = 8;

/// Wakes a lane's consumers in this process when a job is woken into its lane, so the job does
/// not wait for the next poll tick (`crate::poll::Tick` registers each consumer's waker here).
#[derive(Clone)]
pub struct Wakers(Arc<PerLane<[AtomicWaker; MAX_LANE_CONSUMERS]>>);

impl Default for Wakers {
    fn default() -> Self {
        Wakers(Arc::new(PerLane::from_fn(|_| {
            std::array::from_fn(|_| AtomicWaker::new())
        })))
    }
}

impl Wakers {
    /// The waker of `lane`'s consumer `index` (taken modulo [`MAX_LANE_CONSUMERS`]).
    pub fn of(&self, lane: Lane, index: usize) -> &AtomicWaker {
        &self.0[lane][index % MAX_LANE_CONSUMERS]
    }

    /// Wakes every consumer of `lane`: whichever fetches first takes the job.
    pub fn wake(&self, lane: Lane) {
        self.0[lane].iter().for_each(AtomicWaker::wake);
    }
}

/// One job's `start.lua` answer: what, hold start, sequence, parked job.
type StartAnswer = (String, i64, u64, Vec<u8>);

/// One job's `finish.lua` answer: held ms, how the next job goes, its lane, bytes, written.
type FinishAnswer = (i64, String, String, Vec<u8>, String);

/// One job's finish, waiting for its batch (see [`FINISH`]).
struct FinishCall {
    state: String,
    seq: u64,
    key: String,
    carrier: String,
    hand: bool,
    first: u64,
    reply: oneshot::Sender<redis::RedisResult<(i64, FinishAnswer)>>,
}

/// One job's start, waiting for its batch (see [`START`]).
struct StartCall {
    state: String,
    seq: u64,
    task_id: String,
    lane: Lane,
    key: String,
    row_written: bool,
    reply: oneshot::Sender<redis::RedisResult<StartAnswer>>,
}

/// What every batched script call needs besides its jobs, worked out once.
struct Scripts {
    conn: ConnectionManager,
    /// The held-keys set and the parked counter.
    holds: String,
    parked: String,
    /// Both scripts' arguments for the lanes, in [`Lane::ALL`]'s order (`start.lua` names a
    /// job's lane by its place there, from 1): per lane its name, data hash (where `start.lua`
    /// copies a parked job's bytes from), meta hash prefix and active list (where `finish.lua`
    /// wakes a job to).
    lanes: Vec<String>,
    /// A key's state lifetime while work is queued, in seconds.
    busy_ttl_s: u64,
}

impl Scripts {
    /// The lanes' arguments, as both scripts take them: their number, then [`Scripts::lanes`].
    fn lane_args(&self, call: &mut redis::ScriptInvocation<'_>) {
        call.arg(Lane::ALL.len());
        for arg in &self.lanes {
            call.arg(arg);
        }
    }
}

/// The worker's side of ordering; cheap to share.
pub struct Orderer {
    scripts: Arc<Scripts>,
    starts: mpsc::Sender<StartCall>,
    finishes: mpsc::Sender<FinishCall>,
    /// Callers waiting for a start's (a finish's) answer: one that finds none waiting calls
    /// Redis from its own task ([`Waiting`]).
    waiting_starts: AtomicUsize,
    waiting_finishes: AtomicUsize,
    namespace: String,
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
        let namespace = order_namespace(prefix);
        let lanes = PerLane::from_fn(|lane| lane_config(prefix, lane, queue));
        let scripts = Arc::new(Scripts {
            conn,
            holds: format!("{namespace}:holds"),
            parked: format!("{namespace}:parked"),
            lanes: lanes
                .iter()
                .flat_map(|(lane, config): (Lane, &apalis_redis::Config)| {
                    [
                        lane.as_str().to_owned(),
                        config.job_data_hash(),
                        config.job_meta_hash(),
                        config.active_jobs_list(),
                    ]
                })
                .collect(),
            busy_ttl_s: queue.dedup_ttl.as_secs().max(1),
        });
        let starts = coalesce::spawn(SCRIPT_BATCH, SCRIPT_PARALLEL, {
            let scripts = scripts.clone();
            move |batch| start_batch(scripts.clone(), batch)
        });
        let finishes = coalesce::spawn(SCRIPT_BATCH, SCRIPT_PARALLEL, {
            let scripts = scripts.clone();
            move |batch| finish_batch(scripts.clone(), batch)
        });
        Orderer {
            scripts,
            starts,
            finishes,
            waiting_starts: AtomicUsize::new(0),
            waiting_finishes: AtomicUsize::new(0),
            namespace,
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
        let call = |reply| StartCall {
            state: self.state(&tag.key),
            seq: tag.seq,
            task_id: task_id.to_owned(),
            lane,
            key: tag.key.clone(),
            row_written,
            reply,
        };
        let (what, since_ms, seq, bytes) = ask(
            &self.waiting_starts,
            &self.starts,
            "the start batcher stopped",
            call,
            |one| start_batch(self.scripts.clone(), one),
        )
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
        let call = |reply| FinishCall {
            state: self.state(&tag.key),
            seq: tag.seq,
            key: tag.key.clone(),
            carrier: carrier.unwrap_or_default().to_owned(),
            hand,
            first: first.min(tag.seq),
            reply,
        };
        let (now, (held_ms, how, lane, bytes, written)) = ask(
            &self.waiting_finishes,
            &self.finishes,
            "the finish batcher stopped",
            call,
            |one| finish_batch(self.scripts.clone(), one),
        )
        .await?;
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
                    self.wakers.wake(lane);
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
        let mut conn = self.scripts.conn.clone();
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
        let holds = &self.scripts.holds;
        let mut conn = self.scripts.conn.clone();
        // A hold older than a state's lifetime belongs to a key whose state expired.
        let stale = now_ms() - self.busy_ttl.as_millis() as i64;
        let (_, held, oldest, parked): ((), u64, Vec<(String, i64)>, Option<i64>) = redis::pipe()
            .cmd("ZREMRANGEBYSCORE")
            .arg(holds)
            .arg("-inf")
            .arg(stale)
            .ignore()
            .zcard(holds)
            .zrange_withscores(holds, 0, 0)
            .get(&self.scripts.parked)
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

/// One caller waiting for a script's answer, counted while it waits. The first of them (none
/// other waits) calls Redis from its own task: a hot chat's lone start or finish then skips the
/// batcher's two task hand-offs, which cost it about 60 µs a job (measured: the hot-chat bench's
/// drain went from 0.79 to 0.81 of the handler's speed). Under load others always wait, and
/// the calls go through the batcher together.
struct Waiting<'a>(&'a AtomicUsize, bool);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        let before = count.fetch_add(1, AtomicOrdering::AcqRel);
        Waiting(count, before == 0)
    }

    fn first(&self) -> bool {
        self.1
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, AtomicOrdering::AcqRel);
    }
}

/// One job's script answer. The call is built around its reply channel, then made from this
/// task (`alone`, a batch of one) when no other caller waits for an answer of its kind, else
/// through its batcher; the caller is counted as waiting ([`Waiting`]) until the answer comes.
/// `stopped` is the error when the batcher has stopped.
async fn ask<C, R, Fut>(
    waiting: &AtomicUsize,
    batcher: &mpsc::Sender<C>,
    stopped: &'static str,
    call: impl FnOnce(oneshot::Sender<redis::RedisResult<R>>) -> C,
    alone: impl FnOnce(Vec<C>) -> Fut,
) -> redis::RedisResult<R>
where
    Fut: Future<Output = ()>,
{
    let gone = || redis::RedisError::from((redis::ErrorKind::Client, stopped));
    let (reply, answer) = oneshot::channel();
    let call = call(reply);
    let counted = Waiting::enter(waiting);
    if counted.first() {
        alone(vec![call]).await;
    } else {
        batcher.send(call).await.map_err(|_| gone())?;
    }
    answer.await.map_err(|_| gone())?
}

/// One [`START`] call for the starts waiting together; each caller gets its own answer, or the
/// call's error.
async fn start_batch(scripts: Arc<Scripts>, batch: Vec<StartCall>) {
    let now = now_ms();
    let mut call = START.prepare_invoke();
    call.key(&scripts.holds).key(&scripts.parked);
    call.arg(batch.len()).arg(now).arg(scripts.busy_ttl_s);
    scripts.lane_args(&mut call);
    for c in &batch {
        call.key(&c.state);
        call.arg(c.seq)
            .arg(&c.task_id)
            .arg(c.lane.index() + 1)
            .arg(&c.key)
            .arg(if c.row_written { "1" } else { "" });
    }
    let answers: redis::RedisResult<Vec<StartAnswer>> =
        timed("start", call.invoke_async(&mut scripts.conn.clone())).await;
    answer_each(batch, answers, |c| c.reply, |a| a);
}

/// One [`FINISH`] call for the finishes waiting together; each caller gets its own answer and
/// the call's time (the time its key was handed on), or the call's error.
async fn finish_batch(scripts: Arc<Scripts>, batch: Vec<FinishCall>) {
    let now = now_ms();
    let mut call = FINISH.prepare_invoke();
    call.key(&scripts.holds).key(&scripts.parked);
    call.arg(batch.len())
        .arg(now)
        .arg(scripts.busy_ttl_s)
        .arg(IDLE_TTL.as_secs());
    scripts.lane_args(&mut call);
    for c in &batch {
        call.key(&c.state);
        call.arg(c.seq)
            .arg(&c.key)
            .arg(Ulid::generate().to_string())
            .arg(&c.carrier)
            .arg(if c.hand { "1" } else { "" })
            .arg(c.first);
    }
    let answers: redis::RedisResult<Vec<FinishAnswer>> =
        timed("finish", call.invoke_async(&mut scripts.conn.clone())).await;
    answer_each(batch, answers, |c| c.reply, |a| (now, a));
}

/// `call`, one ordering script's round trip, recorded in `sluice_order_script_seconds`.
async fn timed<T>(script: &'static str, call: impl Future<Output = T>) -> T {
    let started = std::time::Instant::now();
    let out = call.await;
    metrics::histogram!(m::ORDER_SCRIPT_SECONDS, m::LABEL_SCRIPT => script)
        .record(started.elapsed().as_secs_f64());
    out
}

/// Sends each call of a batch its own answer, or the batch's error to all.
fn answer_each<C, A, R>(
    batch: Vec<C>,
    answers: redis::RedisResult<Vec<A>>,
    reply: impl Fn(C) -> oneshot::Sender<redis::RedisResult<R>>,
    wrap: impl Fn(A) -> R,
) {
    match answers {
        Ok(answers) if answers.len() == batch.len() => {
            for (c, answer) in batch.into_iter().zip(answers) {
                let _ = reply(c).send(Ok(wrap(answer)));
            }
        }
        Ok(answers) => {
            let e = redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "an ordering script answered for another number of jobs",
                format!("{} answers for {} jobs", answers.len(), batch.len()),
            ));
            for c in batch {
                let _ = reply(c).send(Err(e.clone()));
            }
        }
        Err(e) => {
            for c in batch {
                let _ = reply(c).send(Err(e.clone()));
            }
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_caller_that_finds_nobody_waiting_goes_alone() {
        let count = AtomicUsize::new(0);
        let first = Waiting::enter(&count);
        let second = Waiting::enter(&count);
        assert!(first.first());
        assert!(!second.first(), "another waits: through the batcher");
        drop(first);
        let third = Waiting::enter(&count);
        assert!(!third.first(), "the second still waits");
        drop((second, third));
        assert_eq!(count.load(AtomicOrdering::Acquire), 0);
        assert!(Waiting::enter(&count).first(), "nobody waits any more");
    }
}
