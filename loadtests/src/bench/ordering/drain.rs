//! One measured drain: a backlog posted through sluice-api with no worker running, then one
//! sluice-worker started and timed until every update is handled.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::OrderingArgs;
use super::figures::{Figure, HandlerTime};
use super::post::{Plan, Webhook, message, post_chats};
use super::receiver::{Delay, Receiver, direct};
use super::stack::Stack;
use crate::bench::drain::metrics;
use crate::bench::procfs;
use crate::bench::redis_probe::RedisProbe;
use crate::bench::say;
use crate::ordering::{self, Ordering};

/// The worker's handler during a drain.
#[derive(Debug, Clone, Copy)]
pub enum Handler {
    /// The row only: what ordering adds is all there is to see.
    Store,
    /// A POST to a local target taking this long.
    Forward(Duration),
}

/// Calls a bare client makes to a forward target around its drain (fewer if the drain is
/// shorter): the reference's mean call.
const DIRECT_CALLS: u64 = 1_000;

/// What every drain of a run shares.
pub struct Drain<'a> {
    stack: &'a Stack,
    redis: RedisProbe,
    db: PgPool,
    http: reqwest::Client,
    secret: String,
    concurrency: u32,
    stall: Duration,
}

impl<'a> Drain<'a> {
    pub async fn new(
        args: &OrderingArgs,
        stack: &'a Stack,
        redis: RedisProbe,
        secret: String,
    ) -> anyhow::Result<Drain<'a>> {
        Ok(Drain {
            db: crate::dbsnap::connect(&stack.database_url).await?,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            stack,
            redis,
            secret,
            concurrency: args.concurrency,
            stall: args.stall,
        })
    }

    pub async fn close(self) {
        self.db.close().await;
    }

    /// Posts `plan` under `SLUICE_ORDERING=mode`, then drains it with one worker.
    pub async fn run(
        &self,
        mode: &str,
        plan: Plan,
        handler: Handler,
        round: u32,
    ) -> anyhow::Result<Figure> {
        let n = plan.chats * plan.per_chat;
        let _: () = redis::cmd("FLUSHALL")
            .query_async(&mut self.redis.conn())
            .await?;
        // The dedup keys too: a key left from the previous drain makes its update a duplicate.
        sqlx::query("TRUNCATE updates, update_keys")
            .execute(&self.db)
            .await?;
        let ordering = ("SLUICE_ORDERING", mode.to_owned());
        let name = format!("{mode}-{}-{round}", plan.chats);
        let api = self
            .stack
            .start_api(&format!("api-{name}"), std::slice::from_ref(&ordering))
            .await?;
        crate::bots::wait_until_known(&api.base, super::BOT).await?;
        say(format!(
            "{mode}: posting {n} updates over {} chats",
            plan.chats
        ));
        let to = Webhook {
            base: api.base.clone(),
            bot: super::BOT.into(),
            secret: self.secret.clone(),
        };
        let ledger = post_chats(&self.http, &to, plan, Instant::now()).await;
        api.process.stop().await;
        let refused = ledger.iter().filter(|e| e.status != 200).count();
        anyhow::ensure!(
            refused == 0,
            "{refused} of {n} updates were not answered 200"
        );

        let mut env = vec![
            ordering,
            ("SLUICE_WORKER_CONCURRENCY", self.concurrency.to_string()),
            // The vacuum's default 5 s tick lands inside a drain of more than 5 s and outside a
            // shorter one: one mode would pay for removing 100 000 finished jobs and the other
            // not. Every second, each drain pays for its own, as under steady load.
            ("SLUICE_VACUUM_INTERVAL", "1s".to_owned()),
        ];
        // The reference: half of its calls before the drain and half after, with nothing else
        // running, so a machine that drifts during a long drain moves both alike.
        let direct_calls = n.min(DIRECT_CALLS).div_ceil(2);
        let body = message(plan.first_update_id, plan.first_chat);
        // The forward target, and a bare client's mean call to it before the drain.
        let target = match handler {
            Handler::Store => None,
            Handler::Forward(d) => {
                let r = Receiver::start(Delay::Fixed(d)).await?;
                env.extend([
                    ("SLUICE_HANDLER", "forward".to_owned()),
                    ("SLUICE_FORWARD_URL", r.url.clone()),
                    (
                        "SLUICE_FORWARD_SECRET",
                        "bench-ordering-forward-key".to_owned(),
                    ),
                ]);
                say(format!(
                    "{mode}: {direct_calls} calls to the target from a bare client"
                ));
                let before = direct(&r.url, direct_calls, body.clone()).await?;
                r.reset();
                Some((r, before))
            }
        };
        say(format!("{mode}: draining with one worker"));
        let before = self.redis.commandstats().await?;
        let (machine0, redis0) = (procfs::machine_busy_s()?, self.redis.cpu_s().await?);
        let started = Instant::now();
        let (mut worker, admin) = self
            .stack
            .start_worker_at(&format!("worker-{name}"), &env)
            .await?;
        let waited = self.wait_handled(n, &mut worker).await;
        let wall_s = started.elapsed().as_secs_f64();
        let after = self.redis.commandstats().await?;
        // CPU per job: steadier than a rate on a shared, noisy machine (the rate also counts
        // the time a process waited for a core).
        let per_job = |s: f64| s * 1e6 / n as f64;
        say(format!(
            "{mode}: CPU per job: machine {:.1} µs (worker {:.1}, redis {:.1})",
            per_job(procfs::machine_busy_s()? - machine0),
            per_job(procfs::process_cpu_s(worker.pid())?),
            per_job(self.redis.cpu_s().await? - redis0),
        ));
        let exposition = match waited {
            Ok(_) => self.worker_metrics(admin).await?,
            Err(_) => String::new(),
        };
        // Beside the worker's log: the batch sizes and turns behind a figure, for a later look.
        self.keep(&format!("worker-{name}.metrics"), &exposition);
        let in_worker = target.as_ref().and_then(|_| handler_in_worker(&exposition));
        let finish_trip = target.as_ref().and_then(|_| finish_trip(&exposition));
        if mode != "off" && !exposition.is_empty() {
            say(turns(&exposition));
        }
        worker.stop().await;
        let (first, last) = waited?;
        let spent = after.since(&before);
        let table: String = spent
            .iter()
            .map(|(cmd, c)| format!("{cmd} {} {}\n", c.calls, c.usec))
            .collect();
        self.keep(
            &format!("redis-{name}.commandstats"),
            &format!("# command calls usec\n{table}"),
        );
        let commands: u64 = spent
            .iter()
            .filter(|(cmd, _)| !cmd.starts_with("info"))
            .map(|(_, c)| c.calls)
            .sum();
        let bots = [super::BOT.to_owned()];
        let check = ordering::rows::verify(&self.db, &ledger, &bots, Ordering::Chat).await?;
        let mut handler = None;
        if let Some((r, before)) = &target
            && let Some(target) = r.mean_call()
        {
            say(format!(
                "{mode}: {direct_calls} more calls to the target from a bare client"
            ));
            let after = direct(&r.url, direct_calls, body).await?;
            handler = Some(HandlerTime {
                target,
                in_worker,
                finish_trip,
                direct: Some((*before + after) / 2),
            });
        }
        Ok(Figure::new(
            (mode, round, plan),
            (first, last, wall_s),
            commands,
            check.violations,
            handler,
        ))
    }

    /// Writes `text` to `file` in the run's folder; a failure is reported, not fatal.
    fn keep(&self, file: &str, text: &str) {
        let path = self.stack.log_dir.join(file);
        if let Err(e) = std::fs::write(&path, text) {
            say(format!("could not write {}: {e}", path.display()));
        }
    }

    /// The worker's `/metrics` exposition.
    async fn worker_metrics(&self, admin: SocketAddr) -> anyhow::Result<String> {
        Ok(self
            .http
            .get(format!("http://{admin}/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?)
    }

    /// Waits until `n` rows are handled; their first and last handling times.
    async fn wait_handled(
        &self,
        n: u64,
        worker: &mut crate::bench::child::Started,
    ) -> anyhow::Result<(DateTime<Utc>, DateTime<Utc>)> {
        let (mut seen, mut moved) = (0, Instant::now());
        loop {
            let (count, first, last): (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>) =
                sqlx::query_as(
                    "SELECT count(*), min(handled_at), max(handled_at) FROM updates
                      WHERE handled_at IS NOT NULL",
                )
                .fetch_one(&self.db)
                .await?;
            if count as u64 >= n
                && let (Some(first), Some(last)) = (first, last)
            {
                return Ok((first, last));
            }
            if count != seen {
                (seen, moved) = (count, Instant::now());
            } else if moved.elapsed() > self.stall {
                anyhow::bail!(
                    "the drain stalled at {count} of {n} rows; worker log:\n{}",
                    worker.tail(10)
                );
            }
            if !worker.is_running() {
                return Err(worker.exited_error("while draining"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The handler's mean time per job as the worker timed it (`sluice_job_duration_seconds`: the
/// forward call from building the request to reading the answer).
fn handler_in_worker(exposition: &str) -> Option<Duration> {
    let sum = metrics::sum(exposition, "sluice_job_duration_seconds_sum", "");
    let count = metrics::sum(exposition, "sluice_job_duration_seconds_count", "");
    (count > 0.0).then(|| Duration::from_secs_f64(sum / count))
}

/// The worker's mean wait for one `finish.lua` call (`sluice_order_script_seconds`).
fn finish_trip(exposition: &str) -> Option<Duration> {
    let label = r#"script="finish""#;
    let sum = metrics::sum(exposition, "sluice_order_script_seconds_sum", label);
    let count = metrics::sum(exposition, "sluice_order_script_seconds_count", label);
    (count > 0.0).then(|| Duration::from_secs_f64(sum / count))
}

/// How each ordered job's next one got its turn (`sluice_order_next_total`): written in its
/// key's run, handed in the worker's memory, chained into the finishing slot, or re-queued to
/// its lane.
fn turns(exposition: &str) -> String {
    // `max(0.0)`: an empty sum of f64 is -0.
    let count = |how: &str| {
        metrics::sum(
            exposition,
            "sluice_order_next_total",
            &format!(r#"how="{how}""#),
        )
        .max(0.0)
    };
    format!(
        "next jobs: {} in their key's run, {} handed in memory, {} chained, {} re-queued",
        count("run"),
        count("handed"),
        count("chained"),
        count("requeued"),
    )
}
