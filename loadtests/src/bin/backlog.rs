//! `sluice-backlog`: queues N realistic Telegram updates into one lane, straight into Redis.
//!
//! The jobs are exactly what `sluice-api` queues (an [`UpdateEnvelope`] as JSON, a ULID job id,
//! the idempotency key `tg:{bot}:{update_id}` kept for `SLUICE_DEDUP_TTL`), pushed through
//! apalis-redis's batch-push script `--batch` (1000) at a time, so a 100 000 backlog takes
//! seconds instead of minutes of HTTP. With `--rate` it pushes one update at a time at that
//! steady rate instead (traffic without HTTP).
//!
//! Updates get consecutive update_ids from `--first-id`, spread over `--chats` chats (60 %
//! private, 40 % supergroups and channels) and 50 000 users, with kinds that belong in the lane:
//! high = bot commands and callback queries, normal = messages and edits, low = channel posts and
//! reactions. Bodies have the Bot API's shape, 300-600 bytes.
//!
//! ```sh
//! sluice-backlog --prefix sluice --lane low --count 100000 --json
//! ```

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use apalis_core::task::{builder::TaskBuilder, task_id::TaskId};
use clap::Parser;
use serde_json::value::RawValue;
use sluice_shared::{
    config::parse_duration,
    envelope::UpdateEnvelope,
    lanes::Lane,
    queue::{QueueConfig, connect, lane_config},
};
use ulid::Ulid;

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
    let mut conn = connect(&args.redis_url, Duration::from_secs(30))?;
    let queue = QueueConfig {
        dedup_ttl: args.dedup_ttl,
    };
    let config = lane_config(&args.prefix, args.lane, &queue);
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
        let tasks = (next..upto)
            .map(|id| {
                let env = envelope(&args, id);
                body_bytes += env.payload.get().len() as u64;
                Ok(TaskBuilder::new(serde_json::to_vec(&env)?)
                    .task_id(TaskId::from_ulid(Ulid::generate()))
                    .idempotency_key(env.idempotency_key())
                    .build())
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        let (now, later) = apalis_redis::queries::push_tasks(&mut conn, &config, &tasks).await?;
        queued += u64::from(now + later);
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

/// A pseudo-random number from `x` (splitmix64): repeatable, no state.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const NAMES: &[&str] = &[
    "Ada", "Grace", "Linus", "Margaret", "Ken", "Zoë", "Łukasz", "José",
];
const TEXTS: &[&str] = &[
    "ok",
    "Thanks! 🙏",
    "see you tomorrow at 10?",
    "Can someone share the link to yesterday's slides, please?",
    "I pushed the fix, the build is green again. Let me know if the deploy looks fine.",
    "Привет! Напомни, пожалуйста, во сколько начинается встреча в четверг?",
    "Der Zug hat wieder 20 Minuten Verspätung, fangt bitte ohne mich an.",
];
const COMMANDS: &[&str] = &["/start", "/help", "/settings", "/stats"];

fn pick<'a>(list: &[&'a str], r: u64) -> &'a str {
    list[(r % list.len() as u64) as usize]
}

/// The update `update_id` of the lane's kinds, with its envelope fields.
fn envelope(args: &Args, update_id: i64) -> UpdateEnvelope {
    let r = mix(update_id as u64);
    let c = r % args.chats;
    let u = (r >> 20) % 50_000;
    let user_id = if u.is_multiple_of(2) {
        200_000_000 + u as i64 * 9973
    } else {
        5_000_000_000 + u as i64 * 7919
    };
    let user = format!(
        r#"{{"id":{user_id},"is_bot":false,"first_name":"{}","username":"user_{u}","language_code":"en"}}"#,
        pick(NAMES, u)
    );
    let private = c * 10 < args.chats * 6;
    let (chat_id, chat) = if private {
        (
            user_id,
            format!(
                r#"{{"id":{user_id},"first_name":"{}","type":"private"}}"#,
                pick(NAMES, u)
            ),
        )
    } else {
        let id = -1_001_000_000_000 - c as i64 * 131;
        (
            id,
            format!(r#"{{"id":{id},"title":"Group {c}","type":"supergroup"}}"#),
        )
    };
    let (mid, date, text) = (
        1000 + update_id % 900_000,
        1_764_000_000 + update_id % 86_400,
        pick(TEXTS, r >> 8),
    );
    let message = |extra: &str, text: &str| {
        format!(
            r#"{{"message_id":{mid},"from":{user},"chat":{chat},"date":{date}{extra},"text":"{text}"}}"#
        )
    };
    let odd = (r >> 40) % 2 == 1;
    let (kind, body, chat_id, user_id) = match (args.lane, odd) {
        (Lane::High, false) => {
            let cmd = pick(COMMANDS, r >> 12);
            let entities = format!(
                r#","entities":[{{"offset":0,"length":{},"type":"bot_command"}}]"#,
                cmd.len()
            );
            (
                "message",
                message(&entities, &format!("{cmd} {text}")),
                Some(chat_id),
                Some(user_id),
            )
        }
        (Lane::High, true) => (
            "callback_query",
            format!(
                r#"{{"id":"{}","from":{user},"message":{{"message_id":{mid},"chat":{chat},"date":{date},"text":"Pick one:"}},"chat_instance":"{}","data":"vote:yes:{mid}"}}"#,
                4_000_000_000_000_000 + update_id,
                r >> 3
            ),
            Some(chat_id),
            Some(user_id),
        ),
        (Lane::Normal, false) => ("message", message("", text), Some(chat_id), Some(user_id)),
        (Lane::Normal, true) => (
            "edited_message",
            message(&format!(r#","edit_date":{}"#, date + 42), text),
            Some(chat_id),
            Some(user_id),
        ),
        (Lane::Low, false) => {
            let id = -1_001_000_000_000 - c as i64 * 131;
            let channel = format!(r#"{{"id":{id},"title":"Channel {c}","type":"channel"}}"#);
            (
                "channel_post",
                format!(
                    r#"{{"message_id":{mid},"sender_chat":{channel},"chat":{channel},"date":{date},"text":"{text}"}}"#
                ),
                Some(id),
                None,
            )
        }
        (Lane::Low, true) => (
            "message_reaction",
            format!(
                r#"{{"chat":{chat},"message_id":{mid},"user":{user},"date":{date},"old_reaction":[],"new_reaction":[{{"type":"emoji","emoji":"👍"}}]}}"#
            ),
            Some(chat_id),
            Some(user_id),
        ),
    };
    let raw = format!(r#"{{"update_id":{update_id},"{kind}":{body}}}"#);
    UpdateEnvelope {
        bot: args.bot.clone(),
        update_id,
        kind: kind.to_owned(),
        chat_id,
        user_id,
        lane: args.lane,
        received_at_ms: now_ms(),
        payload: RawValue::from_string(raw).expect("the body is valid JSON"),
        attempt: 0,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
