//! `history erase`: one person's data out of sluice, for a data-protection request.
//!
//! A chat's updates (`--chat`), or a user's (`--user`: every update they sent, in any chat, and
//! their private chat with the bot, whose id is the user's id). In this order: their waiting jobs
//! (so no worker writes a row after the delete), their dead letters, then their rows in `updates`
//! (one `DELETE` on the parent table: every partition). It prints what it removed per place and
//! logs an audit line (who asked, whose data, when, the counts; never a payload).

use std::time::Duration;

use anyhow::Context;
use sluice_shared::{
    db,
    job::{Job, Origin},
    lanes::{Lane, PerLane},
    telemetry,
};
use sqlx::PgPool;

use super::{args::EraseArgs, queued};
use crate::retention::BATCH;
use sluice_shared::dlq::DeadLetters;

/// Whose data.
#[derive(Debug, Clone)]
pub struct Subject {
    pub bot: String,
    pub who: Who,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Chat(i64),
    User(i64),
}

impl Subject {
    /// The same rule as [`delete_rows`], for a queued job.
    pub fn owns(&self, job: &Job) -> bool {
        let Origin::Telegram {
            bot, chat, user, ..
        } = &job.origin
        else {
            return false;
        };
        bot == &self.bot
            && match self.who {
                Who::Chat(c) => *chat == Some(c),
                Who::User(u) => *user == Some(u) || *chat == Some(u),
            }
    }
}

/// Deletes the subject's `updates` rows; returns how many.
pub async fn delete_rows(pool: &PgPool, s: &Subject) -> Result<u64, sqlx::Error> {
    let (sql, id) = match s.who {
        Who::Chat(c) => ("DELETE FROM updates WHERE bot = $1 AND chat_id = $2", c),
        // Two conditions, two indexes (updates_chat_idx, updates_user_idx): a BitmapOr.
        Who::User(u) => (
            "DELETE FROM updates WHERE bot = $1 AND (user_id = $2 OR chat_id = $2)",
            u,
        ),
    };
    let mut tx = db::begin(pool).await?;
    let done = sqlx::query(sql)
        .persistent(false)
        .bind(&s.bot)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

pub async fn run(args: EraseArgs) -> anyhow::Result<()> {
    let _telemetry = telemetry::init(&args.telemetry, "sluice-worker")?;
    let who = match (args.chat, args.user) {
        (Some(c), _) => Who::Chat(c),
        (None, Some(u)) => Who::User(u),
        (None, None) => anyhow::bail!("--chat or --user is required"),
    };
    let subject = Subject {
        bot: args.bot.clone(),
        who,
    };
    let pool = db::connect(&args.db, "sluice-worker history").await?;
    let mut conn = sluice_shared::queue::connect_with(
        &args.redis.redis_url,
        &args.db.tls,
        Duration::from_secs(30),
    )
    .context("REDIS_URL")?;
    let prefix = &args.redis.queue_prefix;
    let owns = |job: &Job| subject.owns(job);
    let queued = queued::erase(&mut conn, prefix, owns)
        .await
        .context("removing queued jobs from redis")?;
    let dead = DeadLetters::new(conn.clone(), prefix);
    let mut letters = PerLane::<u64>::default();
    for lane in Lane::ALL {
        letters[lane] = dead
            .remove_where(lane, BATCH, owns)
            .await
            .context("removing dead letters from redis")?;
    }
    let rows = delete_rows(&pool, &subject)
        .await
        .context("deleting rows from updates")?;
    let sum = |f: fn(&queued::Taken) -> u64| queued.values().map(f).sum::<u64>();
    let (waiting, kept, in_flight) = (sum(|t| t.waiting), sum(|t| t.kept), sum(|t| t.in_flight));
    let letters_total: u64 = letters.values().sum();
    let (subject_kind, subject_id) = match who {
        Who::Chat(c) => ("chat", c),
        Who::User(u) => ("user", u),
    };
    let os_user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    tracing::info!(
        target: "sluice::audit",
        action = "history erase",
        requested_by = args.requested_by.as_deref().unwrap_or(&os_user),
        os_user = %os_user,
        bot = %subject.bot,
        subject = subject_kind,
        subject_id,
        at = %chrono::Utc::now().to_rfc3339(),
        rows,
        queued = waiting,
        queue_kept = kept,
        dead_letters = letters_total,
        in_flight,
        "erased a person's data"
    );
    let per_lane = |f: &dyn Fn(Lane) -> u64| Lane::ALL.map(|l| format!("{l} {}", f(l))).join(", ");
    println!("erased {subject_kind} {subject_id} of bot {}:", subject.bot);
    println!("  updates rows (postgres): {rows}");
    println!(
        "  queued jobs (redis): {waiting} ({})",
        per_lane(&|l| queued[l].waiting)
    );
    println!("  finished or failed jobs the queue kept (redis): {kept}");
    println!(
        "  dead letters (redis): {letters_total} ({})",
        per_lane(&|l| letters[l])
    );
    if in_flight > 0 {
        println!(
            "  in flight, left to their worker: {in_flight}; their rows (or a retry) may be \
             written after this erase: run it again once they have finished"
        );
    }
    Ok(())
}
