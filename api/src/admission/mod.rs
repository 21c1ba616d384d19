//! Admission control: what becomes of a verified update before it is queued. Its lane may be
//! shed (backlog past a threshold); then it meets the global, bot and chat rate limits, and the
//! policy of the limit it is over decides: reject (429), delay (queued for later) or drop.
//!
//! # Layout
//! - [`config`]: `SLUICE_RATE_*`, `SLUICE_POLICY_*`, `SLUICE_MAX_DELAY`, `SLUICE_SHED_*`.
//! - [`policy`]: the limits, the policies and the per-lane policy tables.
//! - [`gcra`]: the decision itself, a pure function of time.
//! - [`local`]: `local` scope, governor state in this process.
//! - [`redis`]: `redis` scope, one Lua script, with `local` as the fallback.
//! - [`shed`]: the shedding thresholds, against the lanes' backlogs as the queue sampler reads them.

pub mod config;
pub mod gcra;
pub mod local;
pub mod policy;
pub mod redis;
pub mod shed;

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context;
use sluice_shared::{
    config::RedisConfig,
    lanes::{Lane, PerLane},
    queue::depth::LaneDepth,
    reach,
    tls::TlsConfig,
};

use self::{
    config::{AdmissionConfig, Scope},
    local::LocalLimiter,
    policy::{Limit, Policies, Policy},
    redis::RedisLimiter,
    shed::Shedder,
};
use crate::registry::BotLimits;

/// A rate: so many cells per second, so many at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
    pub burst: u32,
}

/// One update as the limiters see it.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The bot's row id (local keys) and name (Redis keys, readable by an operator).
    pub bot_id: i64,
    pub bot: &'a str,
    /// The chat id, else the user id; `None` meets only the global and bot buckets.
    pub chat: Option<i64>,
    /// Global, bot and chat rates.
    pub rates: [Rate; 3],
    /// Global, bot and chat policies for the update's lane.
    pub policies: [Policy; 3],
    pub max_delay: Duration,
}

/// What to do with one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Admit,
    /// Queue it to run at `until`.
    Delay {
        until: SystemTime,
    },
    /// Answer 200 and queue nothing.
    Drop(Limit),
    /// 429: retry after `wait`.
    Reject {
        limit: Limit,
        wait: Duration,
    },
    /// 503: the lane is backed up; retry after `wait`.
    Shed {
        wait: Duration,
    },
}

impl Verdict {
    /// The `decision` label of `sluice_admission_total` (an admitted update that turns out to be
    /// a duplicate is counted as `duplicate` by the handler instead).
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Admit => "admitted",
            Verdict::Delay { .. } => "delayed",
            Verdict::Drop(_) => "dropped",
            Verdict::Reject { limit, .. } => limit.rejected_label(),
            Verdict::Shed { .. } => "shed",
        }
    }
}

/// The rate subject: which buckets a delivery draws from, and its lane. A Telegram update's are
/// its bot's and its chat's; a signed event's are its source's and its rate key's.
pub struct Subject<'a> {
    /// The bot bucket's key in this process: a bot's row id (positive), a source's hash
    /// (negative).
    pub bot_id: i64,
    /// The bot bucket's name in Redis keys, readable by an operator: the bot's, or `src:<source>`.
    pub bot: &'a str,
    /// The bot bucket's own rate, field by field; unset fields take `SLUICE_RATE_BOT_*`.
    pub limits: BotLimits,
    /// The chat bucket: a Telegram chat (else user) id, or a hash of a signed event's rate key;
    /// `None` meets only the global and bot buckets.
    pub chat: Option<i64>,
    pub lane: Lane,
}

enum Limiter {
    Off,
    Local(Arc<LocalLimiter>),
    Redis(RedisLimiter),
}

struct Inner {
    limiter: Limiter,
    /// Kept apart from the scope: `redis` falls back to it, and its idle keys are evicted.
    local: Arc<LocalLimiter>,
    policies: Policies,
    global: Rate,
    bot_default: Rate,
    chat: Rate,
    max_delay: Duration,
    shed: Shedder,
}

/// The admission controller: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Admission {
    inner: Arc<Inner>,
}

impl Admission {
    /// Builds the controller; connects (lazily) to the limiter's Redis in `redis` scope, after
    /// one checked connection when it is another Redis than the queue's.
    pub async fn build(
        cfg: &AdmissionConfig,
        redis: &RedisConfig,
        tls: &TlsConfig,
    ) -> anyhow::Result<Admission> {
        cfg.validate().map_err(anyhow::Error::msg)?;
        let local = Arc::new(LocalLimiter::default());
        let limiter = match cfg.scope {
            Scope::Off => Limiter::Off,
            Scope::Local => Limiter::Local(local.clone()),
            Scope::Redis => {
                let url = cfg
                    .rate_redis_url
                    .as_ref()
                    .map_or(&redis.redis_url, |u| &u.0);
                if cfg.rate_redis_url.is_some() {
                    reach::redis_at_startup(url, tls, "SLUICE_RATE_REDIS_URL").await?;
                }
                let conn = sluice_shared::queue::connect_with(url, tls, cfg.redis_timeout)
                    .context("SLUICE_RATE_REDIS_URL is not a valid Redis URL")?;
                Limiter::Redis(RedisLimiter::new(
                    conn,
                    &redis.queue_prefix,
                    cfg.redis_timeout,
                    local.clone(),
                ))
            }
        };
        let thresholds = PerLane::from_fn(|lane| match lane {
            Lane::High => cfg.shed_depth_high.0,
            Lane::Normal => cfg.shed_depth_normal.0,
            Lane::Low => cfg.shed_depth_low.0,
        });
        Ok(Admission {
            inner: Arc::new(Inner {
                limiter,
                local,
                policies: Policies {
                    global: cfg.policy_global,
                    bot: cfg.policy_bot,
                    chat: cfg.policy_chat,
                },
                global: Rate {
                    per_sec: cfg.global_per_sec,
                    burst: cfg.global_burst,
                },
                bot_default: Rate {
                    per_sec: cfg.bot_per_sec,
                    burst: cfg.bot_burst,
                },
                chat: Rate {
                    per_sec: cfg.chat_per_min / 60.0,
                    burst: cfg.chat_burst,
                },
                max_delay: cfg.max_delay,
                shed: Shedder::new(thresholds, cfg.shed_retry_after),
            }),
        })
    }

    /// Sheds, then rate-limits, one update. Rejections and drops commit nothing.
    pub async fn admit(&self, s: &Subject<'_>) -> Verdict {
        let inner = &*self.inner;
        if let Some(wait) = inner.shed.check(s.lane) {
            return Verdict::Shed { wait };
        }
        let bot = Rate {
            per_sec: s.limits.rate_per_sec.unwrap_or(inner.bot_default.per_sec),
            burst: s.limits.burst.unwrap_or(inner.bot_default.burst),
        };
        let ask = Ask {
            bot_id: s.bot_id,
            bot: s.bot,
            chat: s.chat,
            rates: [inner.global, bot, inner.chat],
            policies: inner.policies.for_lane(s.lane),
            max_delay: inner.max_delay,
        };
        match &inner.limiter {
            Limiter::Off => Verdict::Admit,
            Limiter::Local(l) => l.check(&ask),
            Limiter::Redis(r) => r.check(&ask).await,
        }
    }

    /// How fresh shedding needs the lanes' backlogs: `Some(period)` when any lane can be shed.
    pub fn shed_sampling(&self) -> Option<Duration> {
        self.inner.shed.enabled().then_some(shed::SAMPLE_EVERY)
    }

    /// Takes the queue sampler's latest reading (`None`: Redis did not answer) for shedding.
    pub fn observe_depth(&self, depths: Option<&PerLane<LaneDepth>>) {
        self.inner.shed.apply(depths);
    }

    /// Starts the background work: idle-key eviction, and the Redis limiter's warm-up. Abort the
    /// handles to stop them. (The lanes' backlogs come from the api's queue sampler, through
    /// [`observe_depth`](Self::observe_depth).)
    pub fn spawn_background(&self) -> Vec<tokio::task::JoinHandle<()>> {
        let local = self.inner.local.clone();
        let mut tasks = vec![tokio::spawn(async move {
            let mut tick = tokio::time::interval(local::EVICT_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let local = local.clone();
                // Sweeping a million keys takes milliseconds: keep it off the request threads.
                let _ = tokio::task::spawn_blocking(move || local.evict_idle()).await;
            }
        })];
        if let Limiter::Redis(_) = &self.inner.limiter {
            let admission = self.clone();
            tasks.push(tokio::spawn(async move {
                if let Limiter::Redis(r) = &admission.inner.limiter {
                    r.warm_up().await;
                }
            }));
        }
        tasks
    }
}

/// Telegram's `Retry-After`: whole seconds rounded up, at least 1, at most 3600 (it clamps to
/// 0–3600, and 0 would mean "at once").
pub fn retry_after_secs(wait: Duration) -> u32 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.clamp(1, 3600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_and_stays_in_telegrams_range() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::from_secs(86_400)), 3600);
    }
}
