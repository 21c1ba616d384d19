//! Building and running the worker: one supervised apalis worker per lane sharing one capacity,
//! the row writer, the vacuum and the admin listener, until shutdown.

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering as AtomicOrdering},
    },
    time::Duration,
};

use anyhow::Context;
use apalis::prelude::*;
use apalis_core::backend::ext::poll_strategy::PollWith;
use apalis_redis::RedisStorage;
use redis::aio::ConnectionManager;
use sluice_shared::{
    admin,
    dlq::DeadLetters,
    job::Job,
    lanes::Lane,
    metrics as m,
    queue::{PushOptions, Pusher, lane_config, order::Ordering},
};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    config::WorkerConfig,
    gate::DbGate,
    handled::HandledMarks,
    handler::{HandlerContext, UpdateHandler},
    identity::worker_id,
    job::{self, Runtime},
    order::Orderer,
    poll::Tick,
    retry::RetryPolicy,
    rows::RowWriter,
    scheduler::LaneScheduler,
    supervise::{LaneHealth, supervise},
    vitals::WorkerVitals,
};

/// A worker only re-queues, without a dedup key and without waiting for replicas.
pub(crate) const REQUEUE: PushOptions = PushOptions {
    lane_keys: false,
    min_replicas: 0,
};

pub struct Worker<H> {
    cfg: WorkerConfig,
    id: String,
    redis: ConnectionManager,
    runtime: Arc<Runtime<H>>,
    admin: admin::AdminState,
    health: LaneHealth,
    /// The Bot API proxy and its bound listener, when `SLUICE_BOTAPI_PROXY_ADDR` is set.
    proxy: Option<(TcpListener, crate::proxy::Proxy)>,
}

impl<H: UpdateHandler> Worker<H> {
    pub async fn build(cfg: WorkerConfig, handler: H) -> anyhow::Result<Worker<H>> {
        let metrics = m::recorder().context("installing the Prometheus recorder")?;
        let db = sluice_shared::db::startup(&cfg.db, &cfg.db_startup, "sluice-worker").await?;
        let tls = &cfg.db.tls;
        sluice_shared::reach::redis_at_startup(&cfg.redis.redis_url, tls, "REDIS_URL").await?;
        let redis =
            sluice_shared::queue::connect_with(&cfg.redis.redis_url, tls, Duration::from_secs(5))
                .context("REDIS_URL is not a valid Redis URL")?;
        let prefix = &cfg.redis.queue_prefix;
        let stores_only = handler.stores_only();
        let bot_api = crate::bot_api::build(&cfg, db.clone(), redis.clone())?;
        bot_api.warm_up().await;
        let proxy = crate::bot_api::proxy(&cfg, db.clone(), bot_api.clone()).await?;
        let runtime = Arc::new(Runtime {
            handler,
            ctx: HandlerContext {
                db: db.clone(),
                bot_api,
            },
            rows: RowWriter::spawn(
                db.clone(),
                cfg.insert_batch as usize,
                cfg.insert_parallel as usize,
                stores_only,
            ),
            handled: HandledMarks::spawn(
                db.clone(),
                cfg.insert_batch as usize,
                cfg.insert_parallel as usize,
            ),
            scheduler: LaneScheduler::new(cfg.concurrency as usize, cfg.lane_weights),
            policy: RetryPolicy {
                max_attempts: cfg.retry_max_attempts,
                base: cfg.retry_base,
                max: cfg.retry_max,
            },
            queue: Pusher::new(redis.clone(), prefix, &cfg.queue, REQUEUE),
            dead: DeadLetters::new(redis.clone(), prefix),
            gate: DbGate::new(db.clone()),
            order: Arc::new(Orderer::new(redis.clone(), prefix, &cfg.queue, &cfg.order)),
            local: crate::order::local::LocalKeys::new(cfg.order.local_wait.into()),
            marks: tokio_util::task::TaskTracker::new(),
        });
        let id = worker_id(cfg.worker_id.as_deref());
        // The worker cannot work without Postgres: its /readyz pings it.
        let admin = admin::AdminState {
            redis: redis.clone(),
            db: Some(db),
            metrics,
        };
        Ok(Worker {
            cfg,
            id,
            redis,
            runtime,
            admin,
            health: LaneHealth::default(),
            proxy,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Drains every lane until `shutdown`; then stops fetching, lets in-flight jobs finish within
    /// the shutdown grace (apalis puts fetched-but-unstarted jobs back), and returns.
    pub async fn run(
        mut self,
        admin_listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let vitals = WorkerVitals {
            lanes: self.health.clone(),
            gate: self.runtime.gate.clone(),
        };
        let admin = tokio::spawn(admin::serve_with(
            admin_listener,
            self.admin.clone(),
            Arc::new(vitals),
            self.cfg.serve.clone(),
            stopped(stop_rx.clone()),
        ));
        // Stops with the lanes: a framework's call in flight gets its answer within the grace.
        let proxy = self.proxy.take().map(|(listener, proxy)| {
            tokio::spawn(crate::proxy::serve(
                listener,
                proxy,
                self.cfg.serve.clone(),
                stopped(stop_rx.clone()),
            ))
        });
        let pool_metrics = tokio::spawn(sluice_shared::db::export_pool_metrics(
            self.runtime.ctx.db.clone(),
            self.cfg.db.pool_max_connections,
            Duration::from_secs(1),
        ));
        let vacuum = tokio::spawn(crate::vacuum::run(
            self.redis.clone(),
            self.cfg.redis.queue_prefix.clone(),
            self.runtime.dead.clone(),
            self.cfg.vacuum_interval,
            self.cfg.dlq_retention,
        ));
        let partitions = tokio::spawn(crate::partitions::task::run(
            self.runtime.ctx.db.clone(),
            self.cfg.retention,
        ));
        // Before any apalis fetch: a backlog piled up while no worker ran must be promoted in
        // chunks, or apalis's own promotion would fail on it (see `promote`).
        let prefix = self.cfg.redis.queue_prefix.clone();
        let mut conn = self.redis.clone();
        for lane in Lane::ALL {
            if let Err(e) = crate::promote::promote_all(&mut conn, &prefix, lane).await {
                tracing::warn!(error = %e, %lane, "could not promote the backlog at start-up; will keep trying");
            }
        }
        let promoter = tokio::spawn(crate::promote::run(
            conn,
            prefix,
            self.cfg.poll_interval,
            self.runtime.order.wakers.clone(),
        ));
        let order_gauges = tokio::spawn(
            self.runtime
                .order
                .clone()
                .export(self.runtime.local.clone(), Duration::from_secs(2)),
        );
        let mut lanes = tokio::task::JoinSet::new();
        let mut consumers = Vec::new();
        let per_lane = self.consumers_per_lane();
        for lane in Lane::ALL {
            for index in 0..per_lane {
                let lane_worker = Arc::new(LaneWorker {
                    lane,
                    index,
                    id: self.id.clone(),
                    redis: self.redis.clone(),
                    config: self.lane_config(lane),
                    runtime: self.runtime.clone(),
                    concurrency: self.consumer_window(),
                    poll_interval: self.cfg.poll_interval,
                    incarnations: AtomicU64::new(0),
                });
                consumers.push(lane_worker.clone());
                let (health, stop) = (self.health.consumer(index), stop_rx.clone());
                lanes.spawn(lane_worker.supervise(health, stop));
            }
        }
        tracing::info!(worker = %self.id, concurrency = self.cfg.concurrency, consumers_per_lane = per_lane, weights = ?self.cfg.lane_weights, "sluice-worker draining lanes high, normal, low");
        shutdown.await;
        tracing::info!(grace = ?self.cfg.shutdown_grace, "shutdown requested: no new jobs, finishing in-flight ones");
        let _ = stop_tx.send(true);
        let drained = tokio::time::timeout(self.cfg.shutdown_grace, async {
            while lanes.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                "shutdown grace elapsed; unfinished jobs will be re-enqueued by other workers"
            );
            lanes.abort_all();
            while lanes.join_next().await.is_some() {}
        }
        // The `handled_at` marks ordered jobs left running (job::execute).
        self.runtime.marks.close();
        if tokio::time::timeout(Duration::from_secs(5), self.runtime.marks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.runtime.marks.len(),
                "some handled_at marks did not finish; a replay of those updates may run them again"
            );
        }
        let names: Vec<(Lane, String)> = consumers.iter().flat_map(|c| c.names()).collect();
        match self.runtime.queue.release_held(&names).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "released jobs fetched but never started"),
            Err(e) => tracing::warn!(
                error = %e,
                "could not release held jobs; other workers re-enqueue them after the orphan timeout"
            ),
        }
        vacuum.abort();
        partitions.abort();
        pool_metrics.abort();
        promoter.abort();
        order_gauges.abort();
        if let Some(proxy) = proxy {
            let _ = tokio::time::timeout(self.cfg.shutdown_grace, proxy).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), admin).await;
        tracing::info!("worker stopped");
        Ok(())
    }

    /// Jobs per lane that may be writing their rows beyond the handler capacity, so that a batched
    /// insert fills up to `SLUICE_INSERT_BATCH` rows whatever `SLUICE_WORKER_CONCURRENCY` is.
    /// A handler that does more than store gets one batch's worth only up to the concurrency: its
    /// own work is the limit there, and every job fetched ahead must finish within the shutdown
    /// grace.
    ///
    /// With ordering on, the store handler's window is twice that: most fetched jobs of a busy
    /// chat wait in this worker for the job before them (`order::local`; 78–86 % of the ordering
    /// bench's jobs are written in their key's run), holding a place in the window while they
    /// do nothing, so one batch's worth left too few rows being written (docs/performance.md,
    /// "Fewer, fuller inserts").
    fn row_window(&self) -> usize {
        let batch = self.cfg.insert_batch as usize;
        if !self.runtime.handler.stores_only() {
            batch.min(self.cfg.concurrency as usize)
        } else if self.ordered_store() {
            batch * 2
        } else {
            batch
        }
    }

    /// The store handler with ordering on: most fetched jobs wait in memory behind their key.
    fn ordered_store(&self) -> bool {
        self.runtime.handler.stores_only() && self.cfg.order.ordering != Ordering::Off
    }

    /// Consumers per lane (`SLUICE_LANE_CONSUMERS`).
    fn consumers_per_lane(&self) -> usize {
        usize::from(self.cfg.lane_consumers.max(1))
    }

    /// Jobs one lane runs at once: the handler capacity and the row window. Each lane may hold
    /// the whole capacity when the others are idle; the scheduler decides who runs when they
    /// compete. Beyond it, the row window: jobs whose rows are being written, which hold no
    /// permit.
    fn lane_window(&self) -> usize {
        self.cfg.concurrency as usize + self.row_window()
    }

    /// Jobs one of a lane's consumers runs at once: its share of the lane's window
    /// (`SLUICE_LANE_CONSUMERS`), so that more consumers overlap their round trips without
    /// holding more jobs. Ordered jobs of the store handler are the exception: most of them
    /// wait in memory behind their key (see [`Self::row_window`]), so each consumer gets the whole
    /// window; a shared one left `chat` short of jobs in flight again.
    fn consumer_window(&self) -> usize {
        if self.ordered_store() {
            return self.lane_window();
        }
        self.lane_window().div_ceil(self.consumers_per_lane())
    }

    fn lane_config(&self, lane: Lane) -> apalis_redis::Config {
        let orphan = self.cfg.orphan_timeout.max(Duration::from_secs(2));
        // Heartbeat often enough that a live worker is never mistaken for a dead one; a worker is
        // dead after `missed` silent intervals, i.e. after the orphan timeout.
        let heartbeat = (orphan / 4).clamp(Duration::from_secs(1), Duration::from_secs(15));
        let missed = (orphan.as_secs() / heartbeat.as_secs()).max(2) as usize;
        lane_config(&self.cfg.redis.queue_prefix, lane, &self.cfg.queue)
            .heartbeat_interval(heartbeat)
            .missed_heartbeats(missed)
            // Never more than the consumer runs at once: the rest would wait in this process, out
            // of reach of the other replicas, while they are idle.
            .batch_size((self.cfg.fetch_batch as usize).min(self.consumer_window()))
            // Keep on: in apalis-redis 1.0 this flag also gates the acknowledgement itself (without
            // it no job ever leaves its worker's in-flight set).
            .persist_results(true)
            // Leases cost an O(backlog) LREM on the active list per job in apalis-redis 1.0 (28 ms
            // per job with 100 000 queued); the in-flight set already gives crash recovery, and
            // our jobs are far shorter than a heartbeat, which is when leases would matter.
            .lock_tasks(false)
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// One of a lane's consumers and what it needs to (re)start.
struct LaneWorker<H> {
    lane: Lane,
    /// Which of the lane's consumers (`SLUICE_LANE_CONSUMERS`).
    index: usize,
    id: String,
    redis: ConnectionManager,
    config: apalis_redis::Config,
    runtime: Arc<Runtime<H>>,
    concurrency: usize,
    poll_interval: Duration,
    /// Consumers started so far, each under its own name ([`LaneWorker::name`]).
    incarnations: AtomicU64,
}

impl<H: UpdateHandler> LaneWorker<H> {
    /// The apalis worker name of this consumer's `incarnation`-th run: `<id>-<lane>-<n>` for a
    /// lane's first consumer, `<id>-<lane>.<index>-<n>` for the others (the console reads both).
    fn name(&self, incarnation: u64) -> String {
        match self.index {
            0 => format!("{}-{}-{incarnation}", self.id, self.lane),
            i => format!("{}-{}.{i}-{incarnation}", self.id, self.lane),
        }
    }

    /// Every consumer name this lane has run under, for releasing what they still hold.
    fn names(&self) -> impl Iterator<Item = (Lane, String)> + '_ {
        (0..self.incarnations.load(AtomicOrdering::Acquire)).map(|i| (self.lane, self.name(i)))
    }

    /// Runs the lane's apalis worker until the stop signal, restarting it under a new name
    /// whenever it fails, ends or panics (see `supervise`). A new name per incarnation lets
    /// orphan recovery re-enqueue what the failed incarnation held.
    async fn supervise(self: Arc<Self>, health: LaneHealth, stop: watch::Receiver<bool>) {
        let lane = self.lane;
        let run = stop.clone();
        supervise(lane, health, stop, move |incarnation| {
            let (this, stop) = (self.clone(), run.clone());
            async move {
                this.incarnations
                    .fetch_max(incarnation + 1, AtomicOrdering::AcqRel);
                this.run_once(&this.name(incarnation), stop).await
            }
        })
        .await
    }

    async fn run_once(&self, name: &str, stop: watch::Receiver<bool>) -> Result<(), WorkerError> {
        let storage = RedisStorage::<Job>::new(self.redis.clone()).with_config(self.config.clone());
        let wakers = self.runtime.order.wakers.clone();
        let storage = PollWith::new(
            storage,
            Tick::waking(self.poll_interval, wakers, self.lane, self.index),
        );
        let gate = self.runtime.gate.clone();
        let worker = WorkerBuilder::new(name)
            .backend(storage)
            // Every consumer follows the database gate: paused while Postgres is down.
            .on_event(move |ctx, event| {
                if matches!(event, Event::Start | Event::HeartBeat) {
                    gate.follow(ctx);
                }
            })
            .data(self.runtime.clone())
            .concurrency(self.concurrency)
            .build(job::run::<H>);
        worker
            .run_until(async move {
                stopped(stop).await;
                Ok::<(), WorkerError>(())
            })
            .await
    }
}
