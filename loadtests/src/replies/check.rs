//! The stand-in's record judged against the limits it enforced: 429s, and for every bot, chat
//! and group its densest window against what Telegram's GCRA lets through in one.
//!
//! The stand-in is read over HTTP (`GET /_stand-in/calls`, `/_stand-in/limits`): the load tool is
//! a client, so these types mirror its JSON instead of linking it.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One call as the stand-in recorded it.
#[derive(Debug, Clone, Deserialize)]
pub struct Call {
    /// Arrival, microseconds since the Unix epoch.
    pub at_us: u64,
    /// The token's id.
    pub bot: String,
    pub method: String,
    pub chat: Option<String>,
    pub status: u16,
}

/// The limits the stand-in enforced.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Limits {
    pub bot_per_sec: f64,
    pub bot_burst: u32,
    pub chat_per_sec: f64,
    pub chat_burst: u32,
    pub group_per_min: f64,
    pub group_burst: u32,
    /// How early a call may arrive and still be on time.
    pub slack_us: u64,
}

/// What the record shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    /// Messages Telegram took (200).
    pub sent: u64,
    /// Calls answered 429.
    pub refused_429: u64,
    /// Calls answered anything else but 200 or 429.
    pub other_errors: u64,
    /// Bots, chats and groups whose densest window holds more than the limit allows.
    pub over_limit: Vec<String>,
    /// The densest one-second window of any bot, and what the limit allows in one.
    pub densest_bot: (usize, usize),
    /// The densest one-second window of any chat, and what the limit allows in one.
    pub densest_chat: (usize, usize),
}

/// Whether a method is a message (the stand-in limits messages only).
pub fn is_message(method: &str) -> bool {
    let m = method.to_ascii_lowercase();
    m != "sendchataction"
        && ["send", "copy", "forward", "edit", "stop"]
            .iter()
            .any(|p| m.starts_with(p))
}

/// Judges `calls` (the stand-in's whole record, or one run's part of it) against `limits`.
pub fn check(calls: &[Call], limits: &Limits) -> Findings {
    let mut f = Findings::default();
    let mut series: BTreeMap<(char, String), Vec<u64>> = BTreeMap::new();
    for c in calls.iter().filter(|c| is_message(&c.method)) {
        match c.status {
            200 => f.sent += 1,
            429 => {
                f.refused_429 += 1;
                continue;
            }
            _ => {
                f.other_errors += 1;
                continue;
            }
        }
        series
            .entry(('b', c.bot.clone()))
            .or_default()
            .push(c.at_us);
        if let Some(chat) = &c.chat {
            let key = format!("{}/{chat}", c.bot);
            series.entry(('c', key.clone())).or_default().push(c.at_us);
            if chat.starts_with('-') || chat.starts_with('@') {
                series.entry(('g', key)).or_default().push(c.at_us);
            }
        }
    }
    let slack = limits.slack_us;
    for ((kind, key), mut times) in series {
        times.sort_unstable();
        let (rate, burst, width, name) = match kind {
            'b' => (limits.bot_per_sec, limits.bot_burst, 1_000_000, "bot"),
            'c' => (limits.chat_per_sec, limits.chat_burst, 1_000_000, "chat"),
            _ => (
                limits.group_per_min / 60.0,
                limits.group_burst,
                60_000_000,
                "group",
            ),
        };
        let most = densest(&times, width);
        let bound = bound(rate, burst, width, slack);
        match kind {
            'b' => f.densest_bot = f.densest_bot.max((most, bound)),
            'c' => f.densest_chat = f.densest_chat.max((most, bound)),
            _ => {}
        }
        if most > bound {
            f.over_limit.push(format!(
                "{name} {key}: {most} in {} s, allowed {bound}",
                width / 1_000_000
            ));
        }
    }
    f
}

/// The most calls in any window of `width` us that starts at a call.
pub fn densest(sorted: &[u64], width: u64) -> usize {
    let mut most = 0;
    let mut end = 0;
    for (start, t) in sorted.iter().enumerate() {
        while end < sorted.len() && sorted[end] < t + width {
            end += 1;
        }
        most = most.max(end - start);
    }
    most
}

/// What GCRA (one per `1/rate`, bursts of `burst`) lets through in a window of `width` us when a
/// call may come `slack` us early: `burst + ceil((width + slack) / T) - 1`, T rounded up as the
/// stand-in rounds it.
pub fn bound(rate: f64, burst: u32, width: u64, slack: u64) -> usize {
    let t = (1e6 / rate).ceil() as u64;
    (u64::from(burst.max(1)) + (width + slack).div_ceil(t) - 1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        bot_per_sec: 2.0,
        bot_burst: 2,
        chat_per_sec: 1.0,
        chat_burst: 3,
        group_per_min: 20.0,
        group_burst: 3,
        slack_us: 100_000,
    };

    fn call(at_ms: u64, bot: &str, chat: &str, status: u16) -> Call {
        Call {
            at_us: at_ms * 1000,
            bot: bot.into(),
            method: "sendMessage".into(),
            chat: Some(chat.into()),
            status,
        }
    }

    #[test]
    fn a_run_within_the_limits_passes() {
        // 2/s, burst 2: two at once, then one per 500 ms.
        let calls: Vec<Call> = [0, 0, 500, 1000, 1500, 2000]
            .iter()
            .enumerate()
            .map(|(i, t)| call(*t, "1", &format!("{}", 10 + i), 200))
            .collect();
        let f = check(&calls, &LIMITS);
        assert_eq!(f.sent, 6);
        assert!(f.over_limit.is_empty(), "{:?}", f.over_limit);
        assert_eq!(f.densest_bot, (3, 4));
    }

    #[test]
    fn a_bunched_bot_a_busy_chat_and_429s_are_found() {
        let mut calls: Vec<Call> = (0..5)
            .map(|i| call(i * 10, "1", &format!("{i}"), 200))
            .collect();
        calls.extend((0..5).map(|i| call(5000 + i * 200, "2", "7", 200)));
        calls.push(call(9000, "2", "7", 429));
        calls.push(Call {
            method: "answerCallbackQuery".into(),
            chat: None,
            ..call(9000, "2", "", 200)
        });
        let f = check(&calls, &LIMITS);
        assert_eq!((f.sent, f.refused_429), (10, 1));
        assert_eq!(
            f.over_limit,
            [
                "bot 1: 5 in 1 s, allowed 4",
                "bot 2: 5 in 1 s, allowed 4",
                "chat 2/7: 5 in 1 s, allowed 4"
            ],
        );
    }

    #[test]
    fn windows_and_bounds() {
        assert_eq!(densest(&[0, 1, 2, 1_000_000, 1_000_001], 1_000_000), 3);
        assert_eq!(bound(30.0, 30, 1_000_000, 50_000), 30 + 32 - 1);
        assert!(is_message("copyMessage") && !is_message("sendChatAction"));
    }
}
