//! `history replay`: stored updates through the handler again, never into `updates` again.
//!
//! Order: rows are read in update_id order and each chat's updates go to one of `--parallel`
//! shards (by chat id, else user id), which runs them one at a time; so a chat's updates run in
//! update_id order, and different chats run in parallel. `--parallel 1` runs everything in
//! update_id order. Rate: one token bucket (GCRA, burst 1) over all shards, taken before every
//! handler call, retries included. A transient failure is retried under the worker's retry
//! policy (`SLUICE_RETRY_*`) and holds its chat back meanwhile, as Telegram holds a chat's queue;
//! a permanent one, or the last attempt, is logged and counted and the chat goes on.

use std::{
    num::NonZeroU32,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use anyhow::Context;
use chrono::Utc;
use futures::FutureExt;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::value::RawValue;
use sluice_shared::{db, job::Origin, lanes::Lane, shutdown, telemetry};
use tokio::sync::mpsc;

use super::{
    args::ReplayArgs,
    progress::Progress,
    query::{Filter, Pages, StoredUpdate, Summary, summary},
};
use crate::{
    handler::{HandlerContext, HandlerError, Update, UpdateHandler},
    retry::{Decision, RetryPolicy},
    supervise::panic_message,
};

/// Rows read per query.
const PAGE: i64 = 500;
/// Updates waiting per shard: with the page, all a replay holds in memory.
const SHARD_QUEUE: usize = 64;

/// What the shards share.
struct Shared<H> {
    handler: H,
    ctx: HandlerContext,
    policy: RetryPolicy,
    limiter: DefaultDirectRateLimiter,
    progress: Progress,
    failed: AtomicU64,
    stop: AtomicBool,
}

pub async fn run<H: UpdateHandler>(args: ReplayArgs, handler: H) -> anyhow::Result<()> {
    let ReplayArgs {
        selection,
        rate,
        parallel,
        dry_run,
        cfg,
    } = args;
    let _telemetry = telemetry::init(&cfg.telemetry, "sluice-worker")?;
    let pool = db::connect(&cfg.db, "sluice-worker history").await?;
    let filter = Filter::of(&selection, Utc::now());
    let found = summary(&pool, &filter)
        .await
        .context("counting the stored updates")?;
    println!("{}", describe(&filter, &found));
    if dry_run || found.count == 0 {
        return Ok(());
    }
    if handler.stores_only() {
        anyhow::bail!(
            "SLUICE_HANDLER=store only writes the row, which exists: nothing to replay \
             (use SLUICE_HANDLER=forward or your own handler)"
        );
    }
    let quota = Quota::per_second(NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    // A replayed handler's replies pass the same shared limits as live ones.
    let redis = sluice_shared::queue::connect_with(
        &cfg.redis.redis_url,
        &cfg.db.tls,
        std::time::Duration::from_secs(5),
    )
    .context("REDIS_URL is not a valid Redis URL")?;
    let bot_api = crate::bot_api::build(&cfg, pool.clone(), redis)?;
    let shared = Arc::new(Shared {
        handler,
        ctx: HandlerContext {
            db: pool.clone(),
            bot_api,
        },
        policy: RetryPolicy {
            max_attempts: cfg.retry_max_attempts,
            base: cfg.retry_base,
            max: cfg.retry_max,
        },
        limiter: RateLimiter::direct(quota),
        progress: Progress::new(found.count as u64),
        failed: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let mut senders = Vec::new();
    let mut shards = Vec::new();
    for _ in 0..parallel {
        let (tx, rx) = mpsc::channel(SHARD_QUEUE);
        senders.push(tx);
        shards.push(tokio::spawn(shard(shared.clone(), rx)));
    }
    let pages = Pages::new(pool, filter.clone(), PAGE);
    let read = tokio::select! {
        read = dispatch(pages, &filter.bot, &senders) => read,
        () = shutdown::signal() => {
            shared.stop.store(true, Ordering::SeqCst);
            eprintln!("replay: stopping on a signal after the updates under way");
            Ok(())
        }
    };
    drop(senders);
    for s in shards {
        s.await.context("a replay shard panicked")?;
    }
    let failed = shared.failed.load(Ordering::SeqCst);
    shared.progress.finish(failed);
    read?;
    if shared.stop.load(Ordering::SeqCst) {
        anyhow::bail!("stopped by a signal before the end");
    }
    if failed > 0 {
        anyhow::bail!("{failed} update(s) failed for good (see the log)");
    }
    println!("replayed {} update(s)", shared.progress.done());
    Ok(())
}

/// One line for people: how many, which update_ids, received when.
fn describe(f: &Filter, s: &Summary) -> String {
    let mut what = format!("{} update(s) of bot {}", s.count, f.bot);
    if let Some(chat) = f.chat {
        what.push_str(&format!(" in chat {chat}"));
    }
    if let Some(kind) = &f.kind {
        what.push_str(&format!(" of kind {kind}"));
    }
    match (s.first_update_id, s.last_update_id) {
        (Some(a), Some(b)) => what.push_str(&format!(", update_id {a}..={b}")),
        _ => what.push_str(&format!(" received {} .. {}", f.since, f.until)),
    }
    if let (Some(a), Some(b)) = (s.first_received_at, s.last_received_at) {
        what.push_str(&format!(
            ", received {} .. {}",
            a.to_rfc3339(),
            b.to_rfc3339()
        ));
    }
    what
}

/// Reads the rows in update_id order and hands each to its chat's shard.
async fn dispatch(
    mut pages: Pages,
    bot: &str,
    shards: &[mpsc::Sender<Update>],
) -> anyhow::Result<()> {
    while let Some(rows) = pages.next().await.context("reading stored updates")? {
        for row in rows {
            let n = shards.len() as u64;
            let i = (shard_key(&row).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) % n;
            let update = as_update(bot, row)?;
            if shards[i as usize].send(update).await.is_err() {
                anyhow::bail!("a replay shard stopped");
            }
        }
    }
    Ok(())
}

/// Updates with one key keep their order: the chat, else the user (an update without a chat,
/// e.g. an inline query), else the update itself.
fn shard_key(row: &StoredUpdate) -> u64 {
    row.chat_id.or(row.user_id).unwrap_or(row.update_id) as u64
}

fn as_update(bot: &str, row: StoredUpdate) -> anyhow::Result<Update> {
    Ok(Update {
        job_id: ulid::Ulid::generate().to_string(),
        origin: Origin::Telegram {
            bot: bot.to_owned(),
            update_id: row.update_id,
            chat: row.chat_id,
            user: row.user_id,
        },
        kind: row.kind,
        lane: row.lane.parse().unwrap_or(Lane::Normal),
        received_at_ms: row.received_at.timestamp_millis(),
        raw: RawValue::from_string(row.payload).context("a stored payload is not JSON")?,
        attempt: 0,
        replay: true,
    })
}

/// Runs one shard's updates in the order they come.
async fn shard<H: UpdateHandler>(shared: Arc<Shared<H>>, mut rx: mpsc::Receiver<Update>) {
    while let Some(mut update) = rx.recv().await {
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            shared.limiter.until_ready().await;
            let call = AssertUnwindSafe(shared.handler.handle(&shared.ctx, &update));
            let error = match call.catch_unwind().await {
                Ok(Ok(())) => break,
                Ok(Err(e)) => e,
                Err(panic) => {
                    HandlerError::transient(format!("panicked: {}", panic_message(&*panic)))
                }
            };
            match shared.policy.decide(update.attempt, &error) {
                Decision::Retry {
                    delay,
                    next_attempt,
                } => {
                    tracing::info!(%error, update = %update.origin, ?delay, "replay failed; retrying");
                    tokio::time::sleep(delay).await;
                    update.attempt = next_attempt;
                }
                Decision::Dead { reason } => {
                    tracing::warn!(%reason, update = %update.origin, "replay of an update failed for good");
                    shared.failed.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
        }
        shared.progress.inc(shared.failed.load(Ordering::SeqCst));
    }
}
