//! Building and running the api: the state built from the config, router, layer stack,
//! listeners, background tasks (the queue's one depth sampler among them) and shutdown.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context;

use axum::{
    Router,
    body::Body,
    extract::{MatchedPath, Request},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use sluice_console::service::{
    admission::{Admissions, Tally, run_flusher},
    lanes::Arrivals,
};
use sluice_shared::{
    admin,
    lanes::PerLane,
    metrics as m,
    queue::depth::{self, Cadence},
};
use sqlx::PgPool;
use tokio::{net::TcpListener, sync::watch};

use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};

use crate::{
    access,
    admission::Admission,
    config::ApiConfig,
    enqueue::Enqueuer,
    error::ApiError,
    registry::{BotRegistry, Migrations},
    replay::ReplayGuard,
    routes,
    routes::budget::BodyBudgets,
    sources::SourceRegistry,
    state::AppState,
    vitals::ApiVitals,
};

/// The public router with its layer stack.
pub fn app(state: AppState) -> Router {
    let access_log = state.access_log;
    Router::new()
        .merge(routes::telegram::router())
        .merge(routes::hooks::router())
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(state)
        // Outermost first. Every answer, 404s from the fallback included, gets a request id
        // (a hostile one replaced), is counted and timed, and logged once in its request span.
        .layer(
            ServiceBuilder::new()
                .map_request(access::keep_plain_request_id::<Body>)
                .layer(SetRequestIdLayer::x_request_id(access::MakeUlid))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(access::trace_layer(access_log))
                .layer(middleware::from_fn(track_http)),
        )
}

/// Counts and times each request under its route template (never the raw path, which carries
/// the bot name and would explode the label set) and its method from a fixed set (a client may
/// send any token as a method: 150 distinct 8 KB methods once grew `/metrics` to 24 MB).
async fn track_http(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = m::method_label(req.method().as_str());
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [
        (m::LABEL_ROUTE, route),
        (m::LABEL_METHOD, method.to_owned()),
        (m::LABEL_STATUS, status),
    ];
    metrics::counter!(m::HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(m::HTTP_REQUEST_DURATION_SECONDS, &labels)
        .record(started.elapsed().as_secs_f64());
    resp.into_response()
}

/// Everything the api needs, built from its config.
pub struct Api {
    pub state: AppState,
    pub db: PgPool,
    /// Pending when Postgres was down at start-up: the registries' refresh applies them first.
    pub migrations: Migrations,
    pub admin: admin::AdminState,
    pub cfg: ApiConfig,
    /// The operator console, when a token digest is configured.
    pub console: Option<sluice_console::Console>,
    /// Where the console listens (bound by the caller: [`Api::with_console_listener`]).
    console_listener: Option<TcpListener>,
}

impl Api {
    /// Connects (lazily) to Redis and Postgres and migrates if asked; does not listen yet.
    pub async fn build(cfg: ApiConfig) -> anyhow::Result<Api> {
        if cfg.enqueue_min_replicas > 0 && cfg.enqueue_timeout < Duration::from_millis(150) {
            anyhow::bail!(
                "SLUICE_ENQUEUE_TIMEOUT must be at least 150ms when SLUICE_ENQUEUE_MIN_REPLICAS is set: \
                 Redis ends a WAIT up to 100 ms after its timeout"
            );
        }
        cfg.validate().map_err(anyhow::Error::msg)?;
        let metrics = m::recorder().context("installing the Prometheus recorder")?;
        // Postgres down at start-up does not stop the api (a misconfiguration does): it starts
        // not ready, and the registries load (after the migrations, if asked) once Postgres
        // answers.
        let (db, db_up) = sluice_shared::db::reach_at_startup(&cfg.db, "sluice-api").await?;
        let migrations = match cfg.db_startup.auto_migrate {
            true => Migrations::at_startup(&db)
                .await
                .context("applying migrations (SLUICE_AUTO_MIGRATE)")?,
            false => Migrations::done(),
        };
        if db_up && !migrations.is_pending() {
            sluice_shared::db::startup_budget_check(&db, &cfg.db, &cfg.db_startup, "sluice-api")
                .await?;
        }
        let tls = &cfg.db.tls;
        sluice_shared::reach::redis_at_startup(&cfg.redis.redis_url, tls, "REDIS_URL").await?;
        let redis =
            sluice_shared::queue::connect_with(&cfg.redis.redis_url, tls, cfg.enqueue_timeout)
                .context("REDIS_URL is not a valid Redis URL")?;
        // WAIT holds its connection until the replicas answer: each lane's enqueue gets a
        // connection of its own then, so neither admission and replay commands nor the other
        // lanes' pushes queue behind it.
        let connect = || {
            sluice_shared::queue::connect_with(&cfg.redis.redis_url, tls, cfg.enqueue_timeout)
                .context("REDIS_URL is not a valid Redis URL")
        };
        let enqueue_conns = match cfg.enqueue_min_replicas {
            0 => PerLane::splat(redis.clone()),
            _ => PerLane::from([connect()?, connect()?, connect()?]),
        };
        let admission = Admission::build(&cfg.admission, &cfg.redis, tls).await?;
        let keys = Arc::new(cfg.secrets.keyring().map_err(anyhow::Error::msg)?);
        let registry = BotRegistry::with_keys(keys.clone());
        let sources = SourceRegistry::with_keys(keys.clone());
        if !migrations.is_pending() {
            crate::at_rest::at_start_up(&db, &keys).await;
            if let Err(e) = registry.reload(&db).await {
                tracing::warn!(error = %e, "bot registry not loaded at start-up; will retry");
            }
            if let Err(e) = sources.reload(&db).await {
                tracing::warn!(error = %e, "source registry not loaded at start-up; will retry");
            }
        }
        let arrivals = Arrivals::default();
        let state = AppState {
            registry,
            sources,
            replay: ReplayGuard::new(redis.clone(), &cfg.redis.queue_prefix, cfg.enqueue_timeout),
            enqueuer: Enqueuer::counting(
                enqueue_conns,
                &cfg.redis.queue_prefix,
                &cfg.queue,
                &cfg.enqueue(),
                arrivals.clone(),
            ),
            admission,
            tally: Tally::default(),
            lane_rules: Arc::new(cfg.lane_rules.clone()),
            max_body_bytes: cfg.max_body_bytes,
            body_budgets: BodyBudgets::new(cfg.body_budget_bytes),
            access_log: cfg.access_log,
        };
        let console = sluice_console::Console::build(
            &cfg.console,
            redis.clone(),
            &cfg.redis.queue_prefix,
            arrivals,
            cfg.order.ordering,
            db.clone(),
            keys.clone(),
        );
        if console.is_none() {
            tracing::info!("console off: SLUICE_CONSOLE_TOKEN_SHA256 is not set");
        }
        let admin = admin::AdminState {
            redis,
            db: None,
            metrics,
        };
        Ok(Api {
            state,
            db,
            migrations,
            admin,
            cfg,
            console,
            console_listener: None,
        })
    }

    /// Serves the console on `listener` (when it is configured; otherwise the listener is
    /// dropped).
    pub fn with_console_listener(mut self, listener: TcpListener) -> Api {
        self.console_listener = Some(listener);
        self
    }

    /// Serves webhooks on `listener` and the admin routes on `admin_listener` until `shutdown`
    /// completes; in-flight requests then get up to the shutdown grace to finish.
    pub async fn run(
        mut self,
        listener: TcpListener,
        admin_listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let every = self.cfg.registry_refresh;
        let refresh =
            (self.state.registry).spawn_refresh(self.db.clone(), every, self.migrations.clone());
        let depth = self.spawn_depth_sampler();
        let pool_metrics = tokio::spawn(sluice_shared::db::export_pool_metrics(
            self.db.clone(),
            self.cfg.db.pool_max_connections,
            Duration::from_secs(1),
        ));
        let refresh_sources =
            (self.state.sources).spawn_refresh(self.db.clone(), every, self.migrations.clone());
        let (stop_tx, stop_rx) = watch::channel(false);
        let console = self.spawn_console(stopped(stop_rx.clone()));
        // Every replica flushes its admission counts, console or not: the console sums them all.
        let admissions = Admissions::new(self.admin.redis.clone(), &self.cfg.redis.queue_prefix);
        let counted = self.state.tally.clone();
        let tally = tokio::spawn(run_flusher(admissions.clone(), counted.clone()));
        let vitals = ApiVitals {
            bots: self.state.registry.clone(),
            sources: self.state.sources.clone(),
            refreshers: vec![refresh.abort_handle(), refresh_sources.abort_handle()],
            console: console.as_ref().map(|c| c.abort_handle()),
            tally: Some(tally.abort_handle()),
        };
        let background = self.state.admission.spawn_background();
        let admin = tokio::spawn(admin::serve_with(
            admin_listener,
            self.admin,
            Arc::new(vitals),
            self.cfg.serve.clone(),
            stopped(stop_rx.clone()),
        ));
        let server = sluice_shared::serve::serve(
            listener,
            app(self.state),
            self.cfg.serve.clone(),
            stopped(stop_rx),
        );
        let grace = self.cfg.shutdown_grace;
        let deadline = async move {
            shutdown.await;
            tracing::info!(
                ?grace,
                "shutdown requested: refusing new connections, finishing in-flight requests"
            );
            let _ = stop_tx.send(true);
            tokio::time::sleep(grace).await;
        };
        tokio::select! {
            served = server => served.context("serving webhooks")?,
            () = deadline => tracing::warn!("shutdown grace elapsed with requests still in flight"),
        }
        refresh.abort();
        depth.abort();
        pool_metrics.abort();
        refresh_sources.abort();
        tally.abort();
        // The last seconds' counts too, so a rolling restart leaves no dip in the console.
        let _ = tokio::time::timeout(Duration::from_secs(1), admissions.flush(&counted)).await;
        background.iter().for_each(|task| task.abort());
        let _ = tokio::time::timeout(Duration::from_secs(1), admin).await;
        if let Some(console) = console {
            let _ = tokio::time::timeout(Duration::from_secs(1), console).await;
        }
        tracing::info!("api stopped");
        Ok(())
    }
}

impl Api {
    /// The console's server, a task of its own: if it ends (an error, a panic), `/healthz` says
    /// so and the api is restarted, like for its other background tasks.
    fn spawn_console(
        &mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let (console, listener) = (self.console.clone()?, self.console_listener.take()?);
        let serve = self.cfg.serve.clone();
        Some(tokio::spawn(async move {
            // The lanes' history sampler lives and dies with the console's server.
            let sampler = tokio::spawn(console.lane_sampler());
            if let Err(e) = sluice_console::serve(listener, console, serve, shutdown).await {
                tracing::error!(error = %e, "console server stopped");
            }
            sampler.abort();
        }))
    }

    /// The one sampler of the lanes' depths: shedding reads every sample (every 100 ms while any
    /// lane can be shed), the metrics are exported every `SLUICE_DEPTH_INTERVAL`. The backlog is
    /// exported by the api, not the workers, so the scaling signal exists with zero workers.
    fn spawn_depth_sampler(&self) -> tokio::task::JoinHandle<()> {
        let export_every = self.cfg.depth_interval;
        let cadence = Cadence {
            sample_every: self
                .state
                .admission
                .shed_sampling()
                .map_or(export_every, |shed| shed.min(export_every)),
            export_every,
        };
        let admission = self.state.admission.clone();
        tokio::spawn(depth::run(
            self.admin.redis.clone(),
            self.cfg.redis.queue_prefix.clone(),
            cadence,
            move |depths| admission.observe_depth(depths),
        ))
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
