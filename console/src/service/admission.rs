//! Admission across replicas: each api replica counts its decisions in process ([`Tally`]) and a
//! background task of it ([`run_flusher`]) adds them every [`FLUSH_EVERY`] to the Redis bucket of
//! the moment ([`BUCKET`] wide, kept a little longer than [`WINDOW`]): a hash of counts by lane and
//! decision, and a sorted set per kind of the refused bots and chats. The console sums the last
//! [`WINDOW`] of buckets ([`Admissions::recent`]), so they hold every replica's share.

pub mod tally;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::ConnectionManager;
use serde::Serialize;
use sluice_shared::lanes::Lane;

pub use self::tally::{Refused, Tally};

/// Each replica adds what it counted to Redis this often.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// The span of one bucket.
pub const BUCKET: Duration = Duration::from_secs(30);
/// The span the console sums.
pub const WINDOW: Duration = Duration::from_secs(300);
/// The most limited bots, and chats, the console shows.
pub const TOP: usize = 10;

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DecisionCount {
    pub lane: &'static str,
    /// A `sluice_admission_total` decision: `admitted`, `delayed`, `rejected_chat`, `shed`, …
    pub decision: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct LimitedBot {
    /// The bot's name, or `src:<name>` for a signed-webhook source.
    pub bot: String,
    /// Its deliveries the bot's bucket rejected or dropped.
    pub refused: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct LimitedChat {
    pub bot: String,
    /// The chat (else user) id; for a source, the hash of its rate key.
    pub chat: i64,
    pub refused: u64,
}

/// Admission over the last [`WINDOW`].
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AdmissionNow {
    /// The span summed, in seconds (the last 5 minutes).
    pub window_seconds: u64,
    /// By lane, then decision; only what happened.
    pub decisions: Vec<DecisionCount>,
    /// Most refused first, at most [`TOP`] each.
    pub limited_bots: Vec<LimitedBot>,
    pub limited_chats: Vec<LimitedChat>,
}

/// The admission buckets of one deployment (its key prefix), written by the api replicas and
/// read by the console.
#[derive(Clone)]
pub struct Admissions {
    redis: ConnectionManager,
    prefix: String,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

impl Admissions {
    pub fn new(redis: ConnectionManager, prefix: &str) -> Admissions {
        Admissions {
            redis,
            prefix: prefix.to_owned(),
        }
    }

    /// The keys of the bucket that holds `at`: counts, refused bots, refused chats.
    pub fn keys(&self, at: u64) -> [String; 3] {
        let b = at - at % BUCKET.as_secs();
        let p = &self.prefix;
        [
            format!("{p}:console:admission:{b}"),
            format!("{p}:console:limited:bot:{b}"),
            format!("{p}:console:limited:chat:{b}"),
        ]
    }

    /// Adds what `tally` counted since the last flush to the bucket of now, in one pipeline
    /// (none when nothing was counted). What a failed flush took is lost: a dip in the counts.
    pub async fn flush(&self, tally: &Tally) -> redis::RedisResult<()> {
        let d = tally.drain();
        if d.is_empty() {
            return Ok(());
        }
        let [counts, bots, chats] = self.keys(now_secs());
        let mut pipe = redis::pipe();
        for (lane, decision, n) in &d.counts {
            let field = format!("{}:{decision}", lane.as_str());
            pipe.cmd("HINCRBY").arg(&counts).arg(field).arg(n).ignore();
        }
        for (bot, n) in &d.bots {
            pipe.cmd("ZINCRBY").arg(&bots).arg(n).arg(bot).ignore();
        }
        for (bot, chat, n) in &d.chats {
            let member = format!("{bot}/{chat}");
            pipe.cmd("ZINCRBY").arg(&chats).arg(n).arg(member).ignore();
        }
        let ttl = WINDOW.as_secs() + 2 * BUCKET.as_secs();
        for key in [&counts, &bots, &chats] {
            pipe.cmd("EXPIRE").arg(key).arg(ttl).ignore();
        }
        pipe.query_async::<()>(&mut self.redis.clone()).await
    }

    /// The last [`WINDOW`]: the buckets' counts summed, and the most refused bots and chats of
    /// their union (ZUNIONSTORE into a scratch key, read and deleted in the same transaction).
    pub async fn recent(&self) -> redis::RedisResult<AdmissionNow> {
        let now = now_secs();
        let buckets: Vec<[String; 3]> = (0..WINDOW.as_secs() / BUCKET.as_secs())
            .map(|i| self.keys(now.saturating_sub(i * BUCKET.as_secs())))
            .collect();
        let scratch = format!(
            "{}:console:limited:read:{:016x}",
            self.prefix,
            rand::random::<u64>()
        );
        let mut pipe = redis::pipe();
        pipe.atomic();
        for [counts, _, _] in &buckets {
            pipe.cmd("HGETALL").arg(counts);
        }
        for kind in 1..=2 {
            let keys: Vec<&String> = buckets.iter().map(|b| &b[kind]).collect();
            pipe.cmd("ZUNIONSTORE")
                .arg(&scratch)
                .arg(keys.len())
                .arg(keys)
                .ignore();
            pipe.cmd("ZREVRANGE")
                .arg(&scratch)
                .arg(0)
                .arg(TOP - 1)
                .arg("WITHSCORES");
            pipe.cmd("DEL").arg(&scratch).ignore();
        }
        let mut answers: Vec<redis::Value> = pipe.query_async(&mut self.redis.clone()).await?;
        let chats: Vec<(String, f64)> =
            redis::from_redis_value(answers.pop().unwrap_or(redis::Value::Nil))?;
        let bots: Vec<(String, f64)> =
            redis::from_redis_value(answers.pop().unwrap_or(redis::Value::Nil))?;
        let mut sums = [[0u64; tally::DECISIONS.len()]; 3];
        for counts in answers {
            let counts: Vec<(String, u64)> = redis::from_redis_value(counts)?;
            for (field, n) in counts {
                if let Some((lane, i)) = parse_field(&field) {
                    sums[lane.index()][i] += n;
                }
            }
        }
        Ok(AdmissionNow {
            window_seconds: WINDOW.as_secs(),
            decisions: decisions(&sums),
            limited_bots: bots
                .into_iter()
                .map(|(bot, n)| LimitedBot {
                    bot,
                    refused: n as u64,
                })
                .collect(),
            limited_chats: chats
                .into_iter()
                .filter_map(|(member, n)| {
                    let (bot, chat) = member.rsplit_once('/')?;
                    Some(LimitedChat {
                        bot: bot.to_owned(),
                        chat: chat.parse().ok()?,
                        refused: n as u64,
                    })
                })
                .collect(),
        })
    }
}

/// `lane:decision`, as a flush writes it.
fn parse_field(field: &str) -> Option<(Lane, usize)> {
    let (lane, decision) = field.split_once(':')?;
    let lane = lane.parse::<Lane>().ok()?;
    let i = tally::DECISIONS.iter().position(|d| *d == decision)?;
    Some((lane, i))
}

fn decisions(sums: &[[u64; tally::DECISIONS.len()]; 3]) -> Vec<DecisionCount> {
    let mut out = Vec::new();
    for lane in Lane::ALL {
        for (i, decision) in tally::DECISIONS.iter().enumerate() {
            let count = sums[lane.index()][i];
            if count > 0 {
                out.push(DecisionCount {
                    lane: lane.as_str(),
                    decision,
                    count,
                });
            }
        }
    }
    out
}

/// Flushes `tally` every [`FLUSH_EVERY`] until aborted; a failed flush is logged and the next
/// one goes on (the api's supervisor watches this task: it must not end).
pub async fn run_flusher(admissions: Admissions, tally: Tally) {
    let mut every = tokio::time::interval(FLUSH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if let Err(e) = admissions.flush(&tally).await {
            tracing::debug!(error = %e, "admission counts not flushed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_parse_back_and_unknown_ones_are_skipped() {
        assert_eq!(parse_field("normal:rejected_chat"), Some((Lane::Normal, 5)));
        assert_eq!(parse_field("normal:nope"), None);
        assert_eq!(parse_field("nolane:admitted"), None);
        let mut sums = [[0; tally::DECISIONS.len()]; 3];
        sums[Lane::Low.index()][0] = 2;
        assert_eq!(
            decisions(&sums),
            vec![DecisionCount {
                lane: "low",
                decision: "admitted",
                count: 2
            }]
        );
    }
}
