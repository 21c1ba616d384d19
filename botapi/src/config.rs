//! The Bot API client's settings: one clap struct (each field a flag and an env var), parsed
//! once by the binary that embeds the client, and turned into [`Limits`] for the limiter.
//!
//! The defaults are Telegram's published figures (Bots FAQ, "My bot is hitting limits"): about
//! 30 messages/s per bot for bulk sends, about 1 message/s per chat with short bursts, 20
//! messages/min per group, and up to 1 000 messages/s with `allow_paid_broadcast`.

use std::time::Duration;

use reqwest::Url;
use sluice_shared::{
    config::{duration_at_least, duration_between},
    gcra::Quota,
};

/// The limiter's clock: microseconds, as in the Redis scripts.
pub const MICROS_PER_SEC: u64 = 1_000_000;

#[derive(clap::Args, Debug, Clone)]
pub struct BotApiConfig {
    /// Base URL of the Bot API: Telegram's, a local Bot API server, or a stand-in in tests.
    #[arg(long = "telegram-api-url", env = "SLUICE_TELEGRAM_API_URL", value_name = "SLUICE_TELEGRAM_API_URL",
          default_value = "https://api.telegram.org", value_parser = parse_base_url)]
    pub api_url: Url,

    /// Messages per second per bot (Telegram: about 30 for bulk sends).
    #[arg(long = "botapi-bot-per-sec", env = "SLUICE_BOTAPI_BOT_PER_SEC", value_name = "SLUICE_BOTAPI_BOT_PER_SEC",
          default_value = "30", value_parser = parse_rate)]
    pub bot_per_sec: f64,

    /// Messages a bot may send at once after a quiet spell.
    #[arg(long = "botapi-bot-burst", env = "SLUICE_BOTAPI_BOT_BURST", value_name = "SLUICE_BOTAPI_BOT_BURST",
          default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub bot_burst: u32,

    /// Messages per second per chat (Telegram: about 1, short bursts tolerated).
    #[arg(long = "botapi-chat-per-sec", env = "SLUICE_BOTAPI_CHAT_PER_SEC", value_name = "SLUICE_BOTAPI_CHAT_PER_SEC",
          default_value = "1", value_parser = parse_rate)]
    pub chat_per_sec: f64,

    /// Messages to one chat at once after a quiet spell.
    #[arg(long = "botapi-chat-burst", env = "SLUICE_BOTAPI_CHAT_BURST", value_name = "SLUICE_BOTAPI_CHAT_BURST",
          default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chat_burst: u32,

    /// Messages per minute per group, supergroup or channel (a negative chat id or an
    /// @username; Telegram: 20).
    #[arg(long = "botapi-group-per-min", env = "SLUICE_BOTAPI_GROUP_PER_MIN", value_name = "SLUICE_BOTAPI_GROUP_PER_MIN",
          default_value = "20", value_parser = parse_rate)]
    pub group_per_min: f64,

    /// Messages to one group at once after a quiet spell.
    #[arg(long = "botapi-group-burst", env = "SLUICE_BOTAPI_GROUP_BURST", value_name = "SLUICE_BOTAPI_GROUP_BURST",
          default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub group_burst: u32,

    /// Messages per second per bot with `allow_paid_broadcast` (Telegram: up to 1000, paid per
    /// message); they replace the per-bot limit for those sends.
    #[arg(long = "botapi-paid-per-sec", env = "SLUICE_BOTAPI_PAID_PER_SEC", value_name = "SLUICE_BOTAPI_PAID_PER_SEC",
          default_value = "1000", value_parser = parse_rate)]
    pub paid_per_sec: f64,

    /// Paid broadcast messages at once after a quiet spell.
    #[arg(long = "botapi-paid-burst", env = "SLUICE_BOTAPI_PAID_BURST", value_name = "SLUICE_BOTAPI_PAID_BURST",
          default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub paid_burst: u32,

    /// Share of every limit above that sluice leaves unused, `0` to `50%` (`10%` or `0.1`): rates
    /// and bursts are booked this much below them, so that the delay between the limiter's
    /// decision and the call's arrival at Telegram (the network, a stalled process) does not
    /// bunch calls closer than Telegram counts them. `0` books exactly the limits.
    #[arg(long = "botapi-margin", env = "SLUICE_BOTAPI_MARGIN", value_name = "SLUICE_BOTAPI_MARGIN",
          default_value = "10%", value_parser = parse_margin)]
    pub margin: f64,

    /// Longest a call waits for its turn (limits and freezes together); past it the call fails
    /// with a typed error instead of being sent.
    #[arg(long = "botapi-max-wait", env = "SLUICE_BOTAPI_MAX_WAIT", value_name = "SLUICE_BOTAPI_MAX_WAIT",
          default_value = "30s", value_parser = duration_between(Duration::ZERO, Duration::from_secs(3600)))]
    pub max_wait: Duration,

    /// Time budget of one HTTP attempt (connect, send, answer).
    #[arg(long = "botapi-timeout", env = "SLUICE_BOTAPI_TIMEOUT", value_name = "SLUICE_BOTAPI_TIMEOUT",
          default_value = "30s", value_parser = duration_between(Duration::from_millis(10), Duration::from_secs(600)))]
    pub timeout: Duration,

    /// Attempts per call, the first included, on a 5xx, a network error or a 429.
    #[arg(long = "botapi-attempts", env = "SLUICE_BOTAPI_ATTEMPTS", value_name = "SLUICE_BOTAPI_ATTEMPTS",
          default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub attempts: u32,

    /// The longest freeze a 429's `retry_after` may set; a larger value is cut to this.
    #[arg(long = "botapi-retry-after-max", env = "SLUICE_BOTAPI_RETRY_AFTER_MAX", value_name = "SLUICE_BOTAPI_RETRY_AFTER_MAX",
          default_value = "1h", value_parser = duration_between(Duration::from_secs(1), Duration::from_secs(86_400)))]
    pub retry_after_max: Duration,

    /// Largest answer read from the Bot API, in bytes; a longer one fails the call.
    #[arg(long = "botapi-max-response-bytes", env = "SLUICE_BOTAPI_MAX_RESPONSE_BYTES", value_name = "SLUICE_BOTAPI_MAX_RESPONSE_BYTES",
          default_value_t = 4 << 20, value_parser = clap::value_parser!(u32).range(1024..=(256 << 20)))]
    pub max_response_bytes: u32,

    /// How long a bot's opened token is kept in memory before it is read from Postgres again
    /// (so `bots update --token` reaches every worker within it).
    #[arg(long = "botapi-token-ttl", env = "SLUICE_BOTAPI_TOKEN_TTL", value_name = "SLUICE_BOTAPI_TOKEN_TTL",
          default_value = "60s", value_parser = duration_at_least(Duration::from_millis(1)))]
    pub token_ttl: Duration,
}

/// The limiter's quotas, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub bot: Quota,
    pub chat: Quota,
    pub group: Quota,
    pub paid: Quota,
}

impl BotApiConfig {
    /// The quotas the limiter books: the limits less [`Self::margin`].
    pub fn limits(&self) -> Limits {
        let quota = |per_sec: f64, burst: u32| {
            let (per_sec, burst) = self.booked(per_sec, burst);
            Quota::new(per_sec, burst, MICROS_PER_SEC)
        };
        Limits {
            bot: quota(self.bot_per_sec, self.bot_burst),
            chat: quota(self.chat_per_sec, self.chat_burst),
            group: quota(self.group_per_min / 60.0, self.group_burst),
            paid: quota(self.paid_per_sec, self.paid_burst),
        }
    }

    /// A limit's rate and burst as booked: both less the margin, the burst rounded down (at
    /// least 1). The smaller burst keeps a call's worth of Telegram's tolerance unused from the
    /// first call on; the lower rate gives Telegram's bucket back `margin` of an interval with
    /// every call, so a late call followed by an on-time one still arrives far enough apart.
    pub fn booked(&self, per_sec: f64, burst: u32) -> (f64, u32) {
        let keep = 1.0 - self.margin;
        // 1e-9: 30 x 0.9 must be 27, whatever the float rounding.
        let burst = ((f64::from(burst) * keep + 1e-9).floor() as u32).max(1);
        (per_sec * keep, burst)
    }

    /// The settings as parsed from `args` alone (defaults for the rest), for tests and tools.
    pub fn from_args<I, S>(args: I) -> Result<BotApiConfig, String>
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString> + Clone,
    {
        #[derive(clap::Parser)]
        struct Args {
            #[command(flatten)]
            botapi: BotApiConfig,
        }
        let mut all: Vec<std::ffi::OsString> = vec!["sluice".into()];
        all.extend(args.into_iter().map(Into::into));
        sluice_shared::config::try_parse_from::<Args>(all)
            .map(|a| a.botapi)
            .map_err(|e| sluice_shared::config::one_line(&e))
    }
}

/// A share from 0 to 0.5, as a fraction (`0.1`) or a percentage (`10%`).
fn parse_margin(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let share = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => t.parse::<f64>(),
    };
    match share {
        Ok(m) if (0.0..=0.5).contains(&m) => Ok(m),
        _ => Err(format!("'{s}' is not a share from 0 to 50% (0 to 0.5)")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

/// An absolute http(s) URL with no query, fragment or credentials: the method path is appended.
fn parse_base_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("not an absolute URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err("no query, fragment or credentials: /bot<token>/<method> is appended".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_telegrams_published_figures() {
        let cfg = BotApiConfig::from_args(["--botapi-margin", "0"]).unwrap();
        assert_eq!(cfg.api_url.as_str(), "https://api.telegram.org/");
        let l = cfg.limits();
        assert_eq!((l.bot.t, l.bot.tau), (33_334, 29 * 33_334));
        assert_eq!((l.chat.t, l.chat.tau), (1_000_000, 2_000_000));
        assert_eq!(l.group.t, 3_000_000);
        assert_eq!(l.paid.t, 1_000);
    }

    #[test]
    fn the_margin_books_rates_and_bursts_below_the_limits() {
        let cfg = BotApiConfig::from_args::<_, &str>([]).unwrap();
        assert_eq!(cfg.margin, 0.1, "10% by default");
        assert_eq!(cfg.booked(30.0, 30), (27.0, 27));
        assert_eq!(cfg.booked(1.0, 3), (0.9, 2));
        assert_eq!(cfg.booked(1000.0, 100).1, 90);
        let l = cfg.limits();
        assert_eq!((l.bot.t, l.bot.tau), (37_038, 26 * 37_038));
        assert_eq!((l.chat.t, l.chat.tau), (1_111_112, 1_111_112));
        assert_eq!(l.group.t, 3_333_334);
        let half = BotApiConfig::from_args(["--botapi-margin", "50%"]).unwrap();
        assert_eq!(half.booked(2.0, 1), (1.0, 1), "a burst is at least 1");
        for bad in ["60%", "-1", "x", "0.51"] {
            let e = BotApiConfig::from_args([format!("--botapi-margin={bad}")]).unwrap_err();
            assert!(e.contains("SLUICE_BOTAPI_MARGIN"), "{e}");
        }
    }

    #[test]
    fn a_bad_setting_is_named() {
        let e = BotApiConfig::from_args(["--telegram-api-url", "ftp://x"]).unwrap_err();
        assert!(e.contains("SLUICE_TELEGRAM_API_URL"), "{e}");
        let e = BotApiConfig::from_args(["--botapi-chat-per-sec", "0"]).unwrap_err();
        assert!(e.contains("SLUICE_BOTAPI_CHAT_PER_SEC"), "{e}");
    }
}
