//! The drain's backlog: topped up with full-speed wrk runs to BENCH_BACKLOG, then trimmed to
//! exactly that many (the drain's cost per job grows with the backlog, so runs must start from
//! the same size); and the scheduled jobs moved to the active lists when the worker cannot.

use anyhow::Context as _;

use super::measure::{Target, run_wrk};
use super::phases::TOP_UP_BASE;
use super::setup::Ctx;
use crate::bench::knobs::WrkDuration;
use crate::bench::redis_probe::LANES;
use crate::bench::say;

/// The backlog the drain starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backlog {
    /// Jobs queued (after trimming).
    pub jobs: u64,
    /// Jobs removed to reach BENCH_BACKLOG.
    pub trimmed: u64,
}

/// Top-up rounds before giving up.
const MAX_TOP_UPS: u64 = 5;

/// Seconds of full-speed posting to add `missing` jobs at `rps` (with 15 % to spare, plus 2).
pub fn top_up_secs(missing: u64, rps: u64) -> u64 {
    missing * 115 / 100 / rps.max(1) + 2
}

/// How many scheduled jobs each lane keeps so that `total` jobs become `backlog`: every lane
/// in proportion, the last lane whatever is left.
pub fn keep_per_lane(scheduled: [u64; 3], total: u64, backlog: u64) -> [u64; 3] {
    let mut left = backlog;
    let mut keep = [0; 3];
    for (i, s) in scheduled.iter().enumerate() {
        keep[i] = if i == 2 {
            left
        } else {
            s * backlog / total.max(1)
        };
        left = left.saturating_sub(keep[i]);
    }
    keep
}

/// Posts until BENCH_BACKLOG jobs are queued, then drops the newest surplus of each lane's
/// scheduled set in proportion (their data stays in the hash, unused, until the prefix goes).
pub(crate) async fn top_up(ctx: &Ctx, b_rps: f64) -> anyhow::Result<Backlog> {
    let want = ctx.args.bench_backlog;
    let rps = b_rps.floor() as u64;
    let url = format!(
        "http://{}/webhook/telegram/{}",
        ctx.args.bench_api_addr,
        super::BOT
    );
    let mut n = ctx.redis.backlog(&ctx.prefix).await?;
    let mut round = 0;
    while n < want {
        anyhow::ensure!(
            round < MAX_TOP_UPS,
            "could not build a backlog of {want} (have {n})"
        );
        let secs = top_up_secs(want - n, rps);
        say(format!(
            "(d) backlog {n} < {want}: posting for {secs}s more"
        ));
        let label = format!("topup-{round}");
        let target = Target {
            label: &label,
            url: &url,
            rate: 0,
            id_base: TOP_UP_BASE + round * 10_000_000_000,
        };
        run_wrk(ctx, &target, WrkDuration::from_secs(secs)).await?;
        n = ctx.redis.backlog(&ctx.prefix).await?;
        round += 1;
    }
    let trimmed = n - want;
    if trimmed > 0 {
        trim(ctx, n, want).await?;
        let now = ctx.redis.backlog(&ctx.prefix).await?;
        say(format!("(d) trimmed the backlog from {n} to {now} updates"));
    }
    Ok(Backlog {
        jobs: ctx.redis.backlog(&ctx.prefix).await?,
        trimmed,
    })
}

async fn trim(ctx: &Ctx, total: u64, want: u64) -> anyhow::Result<()> {
    let lanes = ctx.redis.lanes(&ctx.prefix).await?;
    let scheduled = [
        lanes.high.scheduled,
        lanes.normal.scheduled,
        lanes.low.scheduled,
    ];
    let keep = keep_per_lane(scheduled, total, want);
    let mut conn = ctx.redis.conn();
    for (lane, keep) in LANES.iter().zip(keep) {
        let _: () = redis::cmd("ZREMRANGEBYRANK")
            .arg(format!("{}:{lane}:scheduled", ctx.prefix))
            .arg(keep)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .context("trimming the backlog")?;
    }
    Ok(())
}

/// Moves every scheduled job of each lane to its active list, 1000 ids per step: what the
/// worker's fetch would do, without unpack()ing the whole set at once (docs/performance.md).
const PROMOTE: &str = r#"
local moved = 0
while true do
    local ids = redis.call('zrange', KEYS[1], 0, 999)
    if #ids == 0 then break end
    redis.call('rpush', KEYS[2], unpack(ids))
    redis.call('zrem', KEYS[1], unpack(ids))
    moved = moved + #ids
end
return moved"#;

pub(crate) async fn promote_scheduled(ctx: &Ctx) -> anyhow::Result<()> {
    let mut conn = ctx.redis.conn();
    for lane in LANES {
        let _: i64 = redis::cmd("EVAL")
            .arg(PROMOTE)
            .arg(2)
            .arg(format!("{}:{lane}:scheduled", ctx.prefix))
            .arg(format!("{}:{lane}:active", ctx.prefix))
            .query_async(&mut conn)
            .await
            .context("moving the scheduled jobs to the active lists")?;
    }
    Ok(())
}
