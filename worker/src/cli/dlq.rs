//! The `sluice-worker dlq list|replay|purge` commands: the dead letters, seen and handled by
//! hand. They need Redis only (its URL and the queue prefix), and list nothing else in `--help`.

use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use serde::Serialize;
use sluice_shared::{
    config::{RedisConfig, parse_duration},
    lanes::Lane,
    output::{OutputArgs, print_json},
    queue::{
        Pusher, QueueConfig,
        order::{self, Order, OrderConfig},
    },
    tls::TlsConfig,
};

use crate::dlq::{DeadLetter, DeadLetters};

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
    /// List dead letters, newest first.
    List {
        /// Only this lane (high, normal, low).
        #[arg(long)]
        lane: Option<Lane>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        output: OutputArgs,
        #[command(flatten)]
        redis: RedisConn,
    },
    /// Put dead letters back in their lane's queue (their rows stay unique: replay is safe).
    Replay {
        /// Replay every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
        /// Dead-letter ids to replay (as `dlq list` shows them).
        #[arg(required_unless_present = "all")]
        ids: Vec<String>,
        #[command(flatten)]
        redis: RedisConn,
        /// A letter goes after its key's current work (the key's next place), by this key.
        #[command(flatten)]
        order: OrderConfig,
    },
    /// Delete dead letters older than a duration (e.g. 7d, 12h).
    Purge {
        #[arg(long = "older-than", value_parser = parse_duration)]
        older_than: Duration,
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

pub async fn run(cmd: DlqCommand) -> anyhow::Result<()> {
    match cmd {
        DlqCommand::List {
            lane,
            limit,
            output,
            redis,
        } => list(&open(&redis).await?, lane, limit, output).await,
        DlqCommand::Replay {
            all,
            ids,
            redis,
            order,
        } => replay(&redis, &order, all, &ids).await,
        DlqCommand::Purge { older_than, redis } => {
            let dead = open(&redis).await?;
            let before = chrono::Utc::now().timestamp_millis() - older_than.as_millis() as i64;
            let removed = dead.purge_before(before).await?;
            println!("purged {removed} dead letter(s) older than {older_than:?}");
            Ok(())
        }
    }
}

async fn list(
    dead: &DeadLetters,
    lane: Option<Lane>,
    limit: usize,
    output: OutputArgs,
) -> anyhow::Result<()> {
    let letters = dead
        .list(lane, limit)
        .await
        .context("reading the dead letters")?;
    let sizes = dead.sizes().await?;
    let listed: Vec<Listed> = letters.iter().map(Listed::from).collect();
    if output.is_json() {
        let sizes = Sizes {
            high: sizes[Lane::High],
            normal: sizes[Lane::Normal],
            low: sizes[Lane::Low],
        };
        return Ok(print_json(&Listing {
            letters: listed,
            sizes,
        })?);
    }
    for l in &listed {
        let (id, lane, at, origin) = (l.id, l.lane, &l.dead_at, &l.origin);
        println!("{id}\t{lane}\t{at}\t{origin}\t{}\t{}", l.kind, l.reason);
    }
    println!(
        "{} dead letter(s) shown; in all: high {}, normal {}, low {}",
        letters.len(),
        sizes[Lane::High],
        sizes[Lane::Normal],
        sizes[Lane::Low]
    );
    Ok(())
}

async fn replay(
    redis: &RedisConn,
    order: &OrderConfig,
    all: bool,
    ids: &[String],
) -> anyhow::Result<()> {
    let conn = connect(redis).await?;
    let prefix = &redis.redis.queue_prefix;
    let dead = DeadLetters::new(conn.clone(), prefix);
    // A re-queued job claims no dedup key (`Pusher::requeue`), so the window is never used:
    // replay does not take SLUICE_DEDUP_TTL.
    let unused = QueueConfig {
        dedup_ttl: Duration::from_secs(25 * 3600),
    };
    let queue = Pusher::new(conn, prefix, &unused, crate::startup::REQUEUE);
    let (mut replayed, mut wanted) = (0usize, ids.len());
    loop {
        let batch = if all {
            dead.all(500).await?
        } else {
            dead.get(ids).await?
        };
        if all {
            wanted += batch.len();
        }
        for letter in &batch {
            let env = letter.envelope.with_attempt(0);
            // After its key's current work (the key's next place), never before it.
            let key = order::key_of(order.ordering, &env);
            let place = key.as_deref().map(Order::Assign);
            queue
                .requeue_ordered(env.lane, &env, Duration::ZERO, place)
                .await
                .context("re-queueing a dead letter")?;
            dead.remove(letter).await?;
            replayed += 1;
        }
        if !all || batch.is_empty() {
            break;
        }
    }
    println!(
        "replayed {replayed} dead letter(s); {} not found",
        wanted - replayed
    );
    Ok(())
}
