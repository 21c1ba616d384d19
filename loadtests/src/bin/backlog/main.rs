//! `sluice-backlog`: queues N realistic Telegram updates into one lane, straight into Redis.
//!
//! The jobs are exactly what `sluice-api` queues (a `sluice_shared::job::Job` as JSON, a ULID job id,
//! the idempotency key `tg:{bot}:{update_id}` claimed for `SLUICE_DEDUP_TTL`), pushed by the same
//! code (`sluice_shared::queue::Pusher`, with the api's default dedup keys) `--batch` (1000) per
//! script call, so a 100 000 backlog takes seconds instead of minutes of HTTP. With `--rate` it
//! pushes one update at a time at that steady rate instead (traffic without HTTP).
//!
//! Updates get consecutive update_ids from `--first-id` and come from the traffic model
//! (`loadtests/src/traffic`): `--chats` chats by popularity (60 % private, the rest supergroups
//! and a few channels), with the model's kinds that belong in the lane: high = bot commands and
//! callback queries, normal = messages, media, edits and membership changes, low = channel posts
//! and reactions. Bodies have the Bot API's shape (median about 400 bytes, a tail to a few KB).
//!
//! ```sh
//! sluice-backlog --prefix sluice --lane low --count 100000 --json
//! ```

mod updates;

use std::time::{Duration, Instant};

use clap::Parser;
use sluice_shared::{
    config::parse_duration,
    lanes::Lane,
    queue::{PushOptions, Pushed, Pusher, QueueConfig, connect},
};

/// Queues N realistic Telegram updates into one lane of sluice's Redis queues.
#[derive(Parser, Debug)]
#[command(name = "sluice-backlog", version)]
struct Args {
    /// Redis connection URL.
    #[arg(long, env = "REDIS_URL", default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Key prefix of the queues (the api's and worker's SLUICE_QUEUE_PREFIX).
    #[arg(long, env = "SLUICE_QUEUE_PREFIX")]
    prefix: String,
    /// Lane to fill: high, normal or low.
    #[arg(long, default_value = "low")]
    lane: Lane,
    /// Updates to queue.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    count: u64,
    /// Registered bot name the updates are for.
    #[arg(long, default_value = "bench")]
    bot: String,
    /// update_id of the first update; the others follow it.
    #[arg(long, default_value_t = 1)]
    first_id: i64,
    /// Distinct chats the updates spread over.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    chats: u64,
    /// Updates per batch-push script call (bulk mode).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=5000))]
    batch: u64,
    /// Push one update at a time at this many per second instead of in bulk.
    #[arg(long)]
    rate: Option<f64>,
    /// Lifetime of the idempotency keys (the api's SLUICE_DEDUP_TTL).
    #[arg(long, env = "SLUICE_DEDUP_TTL", default_value = "25h", value_parser = parse_duration)]
    dedup_ttl: Duration,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let conn = connect(&args.redis_url, Duration::from_secs(30))?;
    let queue = QueueConfig {
        dedup_ttl: args.dedup_ttl,
    };
    let pusher = Pusher::new(conn, &args.prefix, &queue, PushOptions::default());
    let (step, per_call) = match args.rate {
        Some(r) if r > 0.0 => (Some(Duration::from_secs_f64(1.0 / r)), 1),
        _ => (None, args.batch),
    };
    let (mut queued, mut body_bytes) = (0u64, 0u64);
    let started = Instant::now();
    let mut next = args.first_id;
    let end = args.first_id + args.count as i64;
    while next < end {
        let upto = (next + per_call as i64).min(end);
        let encoded = (next..upto)
            .map(|id| {
                let env = updates::envelope(&args, id);
                body_bytes += env.payload.get().len() as u64;
                Ok((serde_json::to_vec(&env)?, Some(env.origin.dedup_key())))
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        // No replicas to wait for: the deadline only bounds a WAIT.
        let pushed = pusher
            .push_encoded(args.lane, &encoded, Instant::now())
            .await?;
        queued += pushed.iter().filter(|p| **p == Pushed::Queued).count() as u64;
        if let Some(step) = step {
            let due = started + step.mul_f64((upto - args.first_id) as f64);
            tokio::time::sleep_until(due.into()).await;
        }
        next = upto;
    }
    report(&args, queued, body_bytes, started.elapsed());
    Ok(())
}

fn report(args: &Args, queued: u64, body_bytes: u64, took: Duration) {
    let secs = took.as_secs_f64();
    let per_s = args.count as f64 / secs.max(1e-9);
    let mean_body = body_bytes as f64 / args.count.max(1) as f64;
    eprintln!(
        "queued {queued} of {} updates ({} duplicates) into {}:{} in {secs:.2} s: {per_s:.0} updates/s (mean body {mean_body:.0} bytes)",
        args.count,
        args.count - queued,
        args.prefix,
        args.lane,
    );
    if args.json {
        let summary = serde_json::json!({
            "lane": args.lane.as_str(), "count": args.count, "queued": queued,
            "duplicates": args.count - queued, "first_id": args.first_id,
            "seconds": (secs * 1000.0).round() / 1000.0, "updates_per_s": per_s.round(),
            "mean_body_bytes": mean_body.round(), "mode": if args.rate.is_some() { "rate" } else { "bulk" },
        });
        println!("{summary}");
    }
}
