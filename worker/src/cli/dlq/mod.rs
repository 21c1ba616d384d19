//! The `sluice-worker dlq list|replay|purge` commands: the dead letters, seen and handled by
//! hand. They need Redis only (its URL and the queue prefix), and list nothing else in `--help`.
//! They call the same `sluice_shared::dlq` functions as the console: one code path.
//!
//! # Layout
//! - this file: the commands and what they print.
//! - [`filter`]: the filter flags and the times they take.

mod filter;

use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use sluice_shared::{
    config::{RedisConfig, parse_duration},
    dlq::{Count, Cursor, DeadLetter, DeadLetterFilter, DeadLetters, Requeue, Target},
    lanes::Lane,
    output::{OutputArgs, print_json},
    queue::order::OrderConfig,
    tls::TlsConfig,
};

pub use filter::FilterArgs;

/// Letters per batch of a replay or purge (one page read and one removal script each).
const BATCH: usize = 500;
/// Letters a `--dry-run` count filtered by reason may examine before it answers "at least".
const COUNT_BUDGET: u64 = 1_000_000;

/// What the dlq commands need: Redis, and the private CA of a `rediss://` URL.
#[derive(clap::Args, Debug)]
pub struct RedisConn {
    #[command(flatten)]
    redis: RedisConfig,
    #[command(flatten)]
    tls: TlsConfig,
}

#[derive(Subcommand, Debug)]
pub enum DlqCommand {
    /// List dead letters, newest first, one page at a time.
    List {
        #[command(flatten)]
        filter: FilterArgs,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Start after this point (the `next` a previous page printed).
        #[arg(long)]
        cursor: Option<String>,
        /// Only count the matching dead letters.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        redis: RedisConn,
    },
    /// Put dead letters back in their lane's queue (their rows stay unique: replay is safe).
    Replay {
        /// Replay every dead letter (that died before now).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Dead-letter ids to replay (as `dlq list` shows them); or filter with the flags.
        ids: Vec<String>,
        #[command(flatten)]
        filter: FilterArgs,
        /// Only count what would be replayed.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        redis: RedisConn,
        /// A letter goes after its key's current work (the key's next place), by this key.
        #[command(flatten)]
        order: OrderConfig,
    },
    /// Delete dead letters: by id, older than a duration (e.g. 7d, 12h), or by filter.
    Purge {
        #[arg(long = "older-than", value_parser = parse_duration)]
        older_than: Option<Duration>,
        /// Dead-letter ids to delete.
        ids: Vec<String>,
        /// Delete every dead letter (that died before now).
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        #[command(flatten)]
        filter: FilterArgs,
        /// Only count what would be deleted.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        redis: RedisConn,
    },
}

/// `dlq list --output json`: the letters shown and every lane's total.
#[derive(Serialize)]
struct Listing<'a> {
    letters: Vec<Listed<'a>>,
    /// Dead letters per lane in all, not only those shown.
    sizes: Sizes,
    /// `--cursor` for the next page, if there is one.
    next: Option<String>,
    /// Letters this page examined (more than shown when filtering by reason).
    scanned: u64,
}

/// One dead letter as the list shows it; the payload stays in Redis (`dlq replay` uses it).
#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    lane: Lane,
    dead_at: String,
    /// `bot/update_id` or `source/key`.
    origin: String,
    kind: &'a str,
    attempt: u32,
    reason: &'a str,
}

#[derive(Serialize)]
struct Sizes {
    high: u64,
    normal: u64,
    low: u64,
}

impl<'a> From<&'a DeadLetter> for Listed<'a> {
    fn from(l: &'a DeadLetter) -> Self {
        let at = chrono::DateTime::from_timestamp_millis(l.dead_at_ms).unwrap_or_default();
        Listed {
            id: &l.id,
            lane: l.envelope.lane,
            dead_at: at.to_rfc3339(),
            origin: l.envelope.describe(),
            kind: &l.envelope.kind,
            attempt: l.envelope.attempt,
            reason: &l.reason,
        }
    }
}

/// A connection once one command has worked, or why it did not (host, port, cause).
async fn connect(conn: &RedisConn) -> anyhow::Result<redis::aio::ConnectionManager> {
    let url = &conn.redis.redis_url;
    let client = sluice_shared::queue::client(url, &conn.tls)
        .context("REDIS_URL is not a valid Redis URL")?;
    sluice_shared::reach::redis(&client, Duration::from_secs(5)).await?;
    Ok(sluice_shared::queue::connect_with(
        url,
        &conn.tls,
        Duration::from_secs(5),
    )?)
}

async fn open(conn: &RedisConn) -> anyhow::Result<DeadLetters> {
    Ok(DeadLetters::new(
        connect(conn).await?,
        &conn.redis.queue_prefix,
    ))
}

/// What a replay or purge acts on: ids, or the filter pinned to now (so letters dying while it
/// runs are not swept up). Nothing at all is refused rather than read as "everything".
fn target(ids: Vec<String>, all: bool, filter: DeadLetterFilter) -> anyhow::Result<Target> {
    let now = chrono::Utc::now().timestamp_millis();
    match (ids.is_empty(), all || filter != DeadLetterFilter::default()) {
        (false, false) => Ok(Target::Ids(ids)),
        (true, true) => Ok(Target::Filter(filter.pinned(now))),
        (false, true) => anyhow::bail!("give ids or filter flags, not both"),
        (true, false) => anyhow::bail!("give ids, filter flags, or --all"),
    }
}

fn describe(count: Count) -> String {
    match count.exact {
        true => count.matching.to_string(),
        false => format!("at least {} (scanned {})", count.matching, count.scanned),
    }
}

pub async fn run(cmd: DlqCommand) -> anyhow::Result<()> {
    match cmd {
        DlqCommand::List {
            filter,
            limit,
            cursor,
            dry_run,
            output,
            redis,
        } => {
            let dead = open(&redis).await?;
            let cursor = cursor.map(|c| c.parse::<Cursor>()).transpose()?;
            match dry_run {
                true => count(&dead, &Target::Filter(filter.filter().pinned(i64::MAX))).await,
                false => list(&dead, &filter.filter(), cursor, limit, output).await,
            }
        }
        DlqCommand::Replay {
            all,
            ids,
            filter,
            dry_run,
            redis,
            order,
        } => {
            let target = target(ids, all, filter.filter())?;
            let conn = connect(&redis).await?;
            let dead = DeadLetters::new(conn.clone(), &redis.redis.queue_prefix);
            if dry_run {
                return count(&dead, &target).await;
            }
            let to = Requeue::new(conn, &redis.redis.queue_prefix, order.ordering);
            let done = dead.replay(&target, &to, BATCH).await?;
            println!(
                "replayed {} dead letter(s); {} not found",
                done.done, done.not_found
            );
            Ok(())
        }
        DlqCommand::Purge {
            older_than,
            ids,
            all,
            mut filter,
            dry_run,
            redis,
        } => {
            let now = chrono::Utc::now().timestamp_millis();
            if let Some(d) = older_than {
                let before = now - d.as_millis() as i64;
                filter.until = Some(filter.until.map_or(before, |u| u.min(before)));
            }
            let target = target(ids, all, filter.filter())?;
            let dead = open(&redis).await?;
            if dry_run {
                return count(&dead, &target).await;
            }
            let done = dead.purge(&target, BATCH).await?;
            match older_than {
                Some(d) => println!("purged {} dead letter(s) older than {d:?}", done.done),
                None => println!(
                    "purged {} dead letter(s); {} not found",
                    done.done, done.not_found
                ),
            }
            Ok(())
        }
    }
}

async fn count(dead: &DeadLetters, target: &Target) -> anyhow::Result<()> {
    let n = dead.count_target(target, COUNT_BUDGET).await?;
    println!("{} dead letter(s) match", describe(n));
    Ok(())
}

async fn list(
    dead: &DeadLetters,
    filter: &DeadLetterFilter,
    cursor: Option<Cursor>,
    limit: usize,
    output: OutputArgs,
) -> anyhow::Result<()> {
    let page = dead
        .list(filter, cursor.as_ref(), limit)
        .await
        .context("reading the dead letters")?;
    let sizes = dead.sizes().await?;
    let listed: Vec<Listed> = page.letters.iter().map(Listed::from).collect();
    let next = page.next.as_ref().map(Cursor::to_string);
    if output.is_json() {
        let sizes = Sizes {
            high: sizes[Lane::High],
            normal: sizes[Lane::Normal],
            low: sizes[Lane::Low],
        };
        return Ok(print_json(&Listing {
            letters: listed,
            sizes,
            next,
            scanned: page.scanned,
        })?);
    }
    for l in &listed {
        let (id, lane, at, origin) = (l.id, l.lane, &l.dead_at, &l.origin);
        println!("{id}\t{lane}\t{at}\t{origin}\t{}\t{}", l.kind, l.reason);
    }
    println!(
        "{} dead letter(s) shown ({} examined); in all: high {}, normal {}, low {}",
        listed.len(),
        page.scanned,
        sizes[Lane::High],
        sizes[Lane::Normal],
        sizes[Lane::Low]
    );
    if let Some(next) = next {
        println!("next page: --cursor {next}");
    }
    Ok(())
}
