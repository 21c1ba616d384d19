//! The admission settings: rate limits, their scope, policies and load-shedding thresholds.

use std::{str::FromStr, time::Duration};

use sluice_shared::config::{duration_at_least, duration_between};

use super::policy::LanePolicies;

/// Where rate-limit decisions are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// In this process (governor): no extra round trip, but N replicas admit up to N× the limits.
    Local,
    /// One atomic Lua script in Redis: exact across any number of replicas; falls back to
    /// `local` limits when Redis fails or is slow.
    Redis,
    /// No rate limits at all (shedding still applies): for benchmarks and emergencies.
    Off,
}

#[derive(clap::Args, Debug, Clone)]
pub struct AdmissionConfig {
    /// Where rate limits are decided: local, redis or off.
    #[arg(
        long = "rate-scope",
        env = "SLUICE_RATE_SCOPE",
        value_name = "SLUICE_RATE_SCOPE",
        default_value = "local"
    )]
    pub scope: Scope,

    /// Redis of the `redis` scope; REDIS_URL when unset. Separate so that limits can live on
    /// their own Redis (and so a test can take the limiter's Redis away alone).
    #[arg(
        long = "rate-redis-url",
        env = "SLUICE_RATE_REDIS_URL",
        value_name = "SLUICE_RATE_REDIS_URL",
        hide_env_values = true
    )]
    pub rate_redis_url: Option<Url>,

    /// Time budget of one decision in Redis; past it, local limits decide.
    #[arg(long = "rate-redis-timeout", env = "SLUICE_RATE_REDIS_TIMEOUT", value_name = "SLUICE_RATE_REDIS_TIMEOUT",
          default_value = "50ms", value_parser = duration_between(Duration::from_millis(1), Duration::from_secs(5)))]
    pub redis_timeout: Duration,

    /// Updates per second admitted for all bots together.
    #[arg(long = "rate-global-per-sec", env = "SLUICE_RATE_GLOBAL_PER_SEC", value_name = "SLUICE_RATE_GLOBAL_PER_SEC",
          default_value = "2000", value_parser = parse_rate)]
    pub global_per_sec: f64,

    /// Updates admitted at once for all bots together after a quiet spell.
    #[arg(long = "rate-global-burst", env = "SLUICE_RATE_GLOBAL_BURST", value_name = "SLUICE_RATE_GLOBAL_BURST",
          default_value_t = 4000, value_parser = clap::value_parser!(u32).range(1..))]
    pub global_burst: u32,

    /// Updates per second admitted per bot, unless the bot has its own (`bots add|update --rate-per-sec`).
    #[arg(long = "rate-bot-per-sec", env = "SLUICE_RATE_BOT_PER_SEC", value_name = "SLUICE_RATE_BOT_PER_SEC",
          default_value = "500", value_parser = parse_rate)]
    pub bot_per_sec: f64,

    /// Burst per bot, unless the bot has its own (`--burst`).
    #[arg(long = "rate-bot-burst", env = "SLUICE_RATE_BOT_BURST", value_name = "SLUICE_RATE_BOT_BURST",
          default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub bot_burst: u32,

    /// Updates per minute admitted per (bot, chat) — or (bot, user) for updates with no chat.
    /// 20/min is Telegram's own limit for a bot in a group.
    #[arg(long = "rate-chat-per-min", env = "SLUICE_RATE_CHAT_PER_MIN", value_name = "SLUICE_RATE_CHAT_PER_MIN",
          default_value = "20", value_parser = parse_rate)]
    pub chat_per_min: f64,

    /// Burst per (bot, chat).
    #[arg(long = "rate-chat-burst", env = "SLUICE_RATE_CHAT_BURST", value_name = "SLUICE_RATE_CHAT_BURST",
          default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub chat_burst: u32,

    /// Policy over the global limit: one of reject|delay|drop, or per lane ("high=delay,normal=reject").
    #[arg(
        long = "policy-global",
        env = "SLUICE_POLICY_GLOBAL",
        value_name = "SLUICE_POLICY_GLOBAL",
        default_value = "reject"
    )]
    pub policy_global: LanePolicies,

    /// Policy over a bot's limit, per lane. Callback and payment queries (high) expire at
    /// Telegram after 150 s, so they are delayed rather than refused.
    #[arg(
        long = "policy-bot",
        env = "SLUICE_POLICY_BOT",
        value_name = "SLUICE_POLICY_BOT",
        default_value = "high=delay,normal=reject,low=reject"
    )]
    pub policy_bot: LanePolicies,

    /// Policy over a chat's limit, per lane.
    #[arg(
        long = "policy-chat",
        env = "SLUICE_POLICY_CHAT",
        value_name = "SLUICE_POLICY_CHAT",
        default_value = "high=delay,normal=reject,low=reject"
    )]
    pub policy_chat: LanePolicies,

    /// The longest a `delay` policy may schedule an update ahead; beyond it the update is
    /// rejected (0: `delay` never delays).
    #[arg(long = "max-delay", env = "SLUICE_MAX_DELAY", value_name = "SLUICE_MAX_DELAY",
          default_value = "60s", value_parser = duration_at_least(Duration::ZERO))]
    pub max_delay: Duration,

    /// Backlog (pending + scheduled jobs) of the high lane past which its new updates get 503;
    /// "off" never sheds it. Must be at least the normal lane's.
    #[arg(
        long = "shed-depth-high",
        env = "SLUICE_SHED_DEPTH_HIGH",
        value_name = "SLUICE_SHED_DEPTH_HIGH",
        default_value = "off"
    )]
    pub shed_depth_high: Depth,

    /// Backlog of the normal lane past which it is shed; "off" never sheds it. At least the low lane's.
    #[arg(
        long = "shed-depth-normal",
        env = "SLUICE_SHED_DEPTH_NORMAL",
        value_name = "SLUICE_SHED_DEPTH_NORMAL",
        default_value = "200000"
    )]
    pub shed_depth_normal: Depth,

    /// Backlog of the low lane past which it is shed; "off" never sheds it.
    #[arg(
        long = "shed-depth-low",
        env = "SLUICE_SHED_DEPTH_LOW",
        value_name = "SLUICE_SHED_DEPTH_LOW",
        default_value = "50000"
    )]
    pub shed_depth_low: Depth,

    /// Retry-After of a shed update (sent in whole seconds, rounded up).
    #[arg(long = "shed-retry-after", env = "SLUICE_SHED_RETRY_AFTER", value_name = "SLUICE_SHED_RETRY_AFTER",
          default_value = "5s", value_parser = duration_between(Duration::from_secs(1), Duration::from_secs(3600)))]
    pub shed_retry_after: Duration,
}

/// A URL that may carry a password: its `Debug` never prints it.
#[derive(Clone)]
pub struct Url(pub String);

impl FromStr for Url {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Url(s.to_owned()))
    }
}

impl std::fmt::Debug for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A shedding threshold: a job count, or none ("off").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Depth(pub Option<u64>);

impl FromStr for Depth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "off" | "" => Ok(Depth(None)),
            n => n
                .parse()
                .map(|n| Depth(Some(n)))
                .map_err(|_| format!("'{n}' is not a job count or \"off\"")),
        }
    }
}

pub(crate) fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

impl AdmissionConfig {
    /// Checks what clap cannot see field by field; the error is one line naming the variables.
    pub fn validate(&self) -> Result<(), String> {
        // "off" counts as infinitely deep: a lane may only be shed if every lower lane can be.
        let depth = |d: Depth| d.0.unwrap_or(u64::MAX);
        let (high, normal, low) = (
            depth(self.shed_depth_high),
            depth(self.shed_depth_normal),
            depth(self.shed_depth_low),
        );
        if high < normal {
            return Err(format!(
                "SLUICE_SHED_DEPTH_HIGH ({}) must be at least SLUICE_SHED_DEPTH_NORMAL ({}): the high lane is never shed before the others",
                show(self.shed_depth_high),
                show(self.shed_depth_normal)
            ));
        }
        if normal < low {
            return Err(format!(
                "SLUICE_SHED_DEPTH_NORMAL ({}) must be at least SLUICE_SHED_DEPTH_LOW ({}): the low lane is shed first",
                show(self.shed_depth_normal),
                show(self.shed_depth_low)
            ));
        }
        Ok(())
    }
}

fn show(d: Depth) -> String {
    d.0.map_or_else(|| "off".to_owned(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        a: AdmissionConfig,
    }

    fn parse(args: &[&str]) -> AdmissionConfig {
        T::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        use super::super::policy::Policy;
        use sluice_shared::lanes::Lane;
        let c = parse(&[]);
        assert_eq!(c.scope, Scope::Local);
        assert_eq!((c.chat_per_min, c.chat_burst), (20.0, 5));
        assert_eq!(c.policy_global, LanePolicies::all(Policy::Reject));
        for p in [c.policy_bot, c.policy_chat] {
            assert_eq!(p.get(Lane::High), Policy::Delay);
            assert_eq!(p.get(Lane::Normal), Policy::Reject);
            assert_eq!(p.get(Lane::Low), Policy::Reject);
        }
        assert_eq!(c.shed_depth_high, Depth(None));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn debug_redacts_the_limiter_url() {
        let c = parse(&["--rate-redis-url", "redis://:hunter2@h:6379"]);
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn thresholds_must_shed_low_first() {
        let c = parse(&["--shed-depth-high", "10", "--shed-depth-normal", "20"]);
        assert!(c.validate().unwrap_err().contains("SLUICE_SHED_DEPTH_HIGH"));
        let c = parse(&["--shed-depth-normal", "off", "--shed-depth-high", "5"]);
        assert!(c.validate().unwrap_err().contains("SLUICE_SHED_DEPTH_HIGH"));
        let c = parse(&["--shed-depth-normal", "10", "--shed-depth-low", "20"]);
        assert!(
            c.validate()
                .unwrap_err()
                .contains("SLUICE_SHED_DEPTH_NORMAL")
        );
        let c = parse(&["--shed-depth-high", "30", "--shed-depth-low", "30"]);
        assert!(c.validate().is_err(), "normal (200000) above high (30)");
        let c = parse(&["--shed-depth-high", "300000"]);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn rates_must_be_positive() {
        assert!(T::try_parse_from(["t", "--rate-chat-per-min", "0"]).is_err());
        assert!(T::try_parse_from(["t", "--rate-global-per-sec", "-1"]).is_err());
        assert!(T::try_parse_from(["t", "--rate-bot-per-sec", "0.5"]).is_ok());
    }
}
