//! Telegram's published limits as the stand-in enforces them, with its own GCRA in memory: a
//! model of Telegram written apart from sluice's limiter, so that a test compares two
//! implementations instead of one with itself.
//!
//! Messages (`send*` but `sendChatAction`, `copy*`, `forward*`, `edit*`, `stop*`) count against
//! the chat, the group (negative ids, @usernames) and the bot, or the paid budget with
//! `allow_paid_broadcast`; nothing else is limited. After a 429 the bot is frozen for its
//! `retry_after`: every message until then gets a 429 too, as Telegram's flood wait does.

use std::{collections::HashMap, time::Duration};

/// Rates and bursts, as sluice's `SLUICE_BOTAPI_*` settings name them.
#[derive(Debug, Clone, Copy)]
pub struct StandInLimits {
    pub bot_per_sec: f64,
    pub bot_burst: u32,
    pub chat_per_sec: f64,
    pub chat_burst: u32,
    pub group_per_min: f64,
    pub group_burst: u32,
    pub paid_per_sec: f64,
    pub paid_burst: u32,
    /// How early a message may arrive and still count as on time: the network between a
    /// sender's decision and this server's clock (Telegram's own slack is unpublished).
    pub slack: Duration,
}

impl Default for StandInLimits {
    /// Telegram's published figures (sluice's defaults).
    fn default() -> Self {
        StandInLimits {
            bot_per_sec: 30.0,
            bot_burst: 30,
            chat_per_sec: 1.0,
            chat_burst: 3,
            group_per_min: 20.0,
            group_burst: 3,
            paid_per_sec: 1000.0,
            paid_burst: 100,
            slack: Duration::from_millis(50),
        }
    }
}

/// Whether a method is a message (Telegram's limits apply to messages only).
pub fn is_message(method: &str) -> bool {
    let m = method.to_ascii_lowercase();
    m != "sendchataction"
        && ["send", "copy", "forward", "edit", "stop"]
            .iter()
            .any(|p| m.starts_with(p))
}

/// The stand-in's buckets: key -> theoretical arrival time (us), and per-bot freezes.
#[derive(Default)]
pub struct Buckets {
    tat: HashMap<String, u64>,
    frozen_until: HashMap<String, u64>,
}

impl Buckets {
    /// Freezes `bot` until `until_us`.
    pub fn freeze(&mut self, bot: &str, until_us: u64) {
        let e = self.frozen_until.entry(bot.to_owned()).or_default();
        *e = (*e).max(until_us);
    }

    /// Admits a message of `bot` to `chat` at `now_us`, or answers the seconds to wait.
    pub fn admit(
        &mut self,
        limits: &StandInLimits,
        now_us: u64,
        bot: &str,
        chat: Option<&str>,
        paid: bool,
    ) -> Result<(), u64> {
        if let Some(&until) = self.frozen_until.get(bot)
            && until > now_us
        {
            return Err((until - now_us).div_ceil(1_000_000).max(1));
        }
        let quota = |per_sec: f64, burst: u32| {
            let t = (1e6 / per_sec).ceil() as u64;
            (t, t * u64::from(burst.max(1) - 1))
        };
        let mut buckets = Vec::new();
        if let Some(chat) = chat {
            buckets.push((
                format!("{bot}/c/{chat}"),
                quota(limits.chat_per_sec, limits.chat_burst),
            ));
            if chat.starts_with('-') || chat.starts_with('@') {
                buckets.push((
                    format!("{bot}/g/{chat}"),
                    quota(limits.group_per_min / 60.0, limits.group_burst),
                ));
            }
        }
        buckets.push(if paid {
            (
                format!("{bot}/p"),
                quota(limits.paid_per_sec, limits.paid_burst),
            )
        } else {
            (
                format!("{bot}/b"),
                quota(limits.bot_per_sec, limits.bot_burst),
            )
        });
        let slack = limits.slack.as_micros() as u64;
        let mut latest = now_us;
        for (key, (_, tau)) in &buckets {
            let tat = self.tat.get(key).copied().unwrap_or(now_us).max(now_us);
            latest = latest.max(tat.saturating_sub(tau + slack));
        }
        if latest > now_us {
            let secs = (latest - now_us).div_ceil(1_000_000).max(1);
            self.freeze(bot, now_us + secs * 1_000_000);
            return Err(secs);
        }
        for (key, (t, _)) in buckets {
            let tat = self.tat.get(&key).copied().unwrap_or(now_us).max(now_us);
            self.tat.insert(key, tat + t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_over_its_burst_is_refused_and_freezes_the_bot() {
        let limits = StandInLimits {
            slack: Duration::ZERO,
            ..StandInLimits::default()
        };
        let mut b = Buckets::default();
        for _ in 0..3 {
            b.admit(&limits, 0, "1", Some("7"), false).unwrap();
        }
        assert_eq!(b.admit(&limits, 0, "1", Some("7"), false), Err(1));
        // The whole bot waits now, other chats included.
        assert_eq!(b.admit(&limits, 10, "1", Some("8"), false), Err(1));
        assert!(b.admit(&limits, 1_000_000, "1", Some("8"), false).is_ok());
        assert!(is_message("sendMessage") && !is_message("sendChatAction"));
        assert!(!is_message("answerCallbackQuery"));
    }
}
