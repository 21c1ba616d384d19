//! Realistic Telegram traffic: who sends what, to which bot, in which chat, with what body.
//!
//! Bots and chats have Zipf popularity (a few bots and chats carry most of the traffic, as in
//! real deployments); 60 % of a bot's chats are private chats (chat id = user id, some above
//! 2^32), the rest supergroups (`-100…` ids). Kinds follow what a bot with privacy mode sees:
//! mostly text messages, commands, callback queries, some media, edits, reactions, membership
//! changes and channel posts ([`kind`] has the mix). Bodies have the Bot API's exact shape:
//! median about 400 B, a long tail to a few KB (texts are log-normal, up to 3 000 characters).
//!
//! This is the one traffic model: `sluice-load run` draws from it live, `sluice-backlog` builds
//! its jobs with it, and `sluice-load traffic export` renders it for k6 and wrk ([`export`]).
//!
//! # Layout
//! - [`kind`]: the kinds, their Bot API field and lane, the mix per sort of chat.
//! - `body`, `people`: the Bot API JSON of each kind, and of users and chats.
//! - [`streams`]: the flood profile's chats and the users profile's people.
//! - [`export`]: the fixtures k6 and wrk read.

mod body;
pub mod export;
pub mod kind;
mod people;
pub mod streams;

use std::sync::atomic::{AtomicI64, Ordering};

use rand::{Rng, RngCore};
use rand_distr::{Distribution, LogNormal, Zipf};
use serde::{Deserialize, Serialize};
use sluice_shared::lanes::Lane;

pub use kind::Kind;

/// A bot the run posts to: its name in sluice's registry and its webhook secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BotCred {
    pub name: String,
    pub secret: String,
}

/// Where an update comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chat {
    /// A private chat with a user: the chat id is the user id.
    Private(i64),
    /// A supergroup, and the member who wrote.
    Group { chat: i64, user: i64 },
    /// A channel the bot administers.
    Channel(i64),
}

impl Chat {
    pub fn id(self) -> i64 {
        match self {
            Chat::Private(id) | Chat::Channel(id) | Chat::Group { chat: id, .. } => id,
        }
    }

    /// The user who writes in this chat (a channel's posts have none).
    pub fn user(self) -> Option<i64> {
        match self {
            Chat::Private(id) | Chat::Group { user: id, .. } => Some(id),
            Chat::Channel(_) => None,
        }
    }
}

/// One generated update, ready to post.
#[derive(Debug, Clone)]
pub struct Update {
    pub bot: usize,
    pub update_id: i64,
    pub chat: Chat,
    pub kind: Kind,
    pub body: String,
}

impl Update {
    /// The body after `{"update_id":N`: a template that any update_id completes.
    pub fn rest(&self) -> &str {
        let head = format!("{{\"update_id\":{}", self.update_id);
        self.body
            .strip_prefix(&head)
            .expect("bodies start with their update_id")
    }
}

/// The bots, their chats and users, and the popularity of each.
pub struct Population {
    pub bots: Vec<BotCred>,
    update_ids: Vec<AtomicI64>,
    bot_zipf: Zipf<f64>,
    chats_per_bot: u64,
    chat_zipf: Zipf<f64>,
    text_len: LogNormal<f64>,
    /// Mixed into every derived id so two runs' chats differ.
    salt: u64,
}

impl Population {
    /// `chats_per_bot` chats per bot; update ids of each bot start at a random point (as
    /// Telegram's do) so runs against one database never collide.
    pub fn new(bots: Vec<BotCred>, chats_per_bot: u64, rng: &mut impl RngCore) -> Population {
        assert!(!bots.is_empty(), "a population needs at least one bot");
        let update_ids = bots
            .iter()
            .map(|_| AtomicI64::new(rng.random_range(100_000_000..900_000_000)))
            .collect();
        Population {
            bot_zipf: Zipf::new(bots.len() as f64, 1.0).expect("n >= 1"),
            chat_zipf: Zipf::new(chats_per_bot.max(1) as f64, 1.0).expect("n >= 1"),
            bots,
            update_ids,
            chats_per_bot: chats_per_bot.max(1),
            // Median 33 characters, long tail: most messages are short, a few are essays.
            text_len: LogNormal::new(3.5, 1.0).expect("valid"),
            salt: rng.next_u64(),
        }
    }

    pub fn pick_bot(&self, rng: &mut impl Rng) -> usize {
        self.bot_zipf.sample(rng) as usize - 1
    }

    /// The `rank`-th most popular chat of `bot` (0-based): private or group is fixed per chat.
    pub fn chat(&self, bot: usize, rank: u64, rng: &mut impl Rng) -> Chat {
        let h = mix(self.salt ^ ((bot as u64) << 40) ^ rank);
        if h % 10 < 6 {
            Chat::Private(user_id(h))
        } else if h % 50 == 7 {
            Chat::Channel(-1_000_000_000_000 - (h >> 24) as i64 % 999_999_999)
        } else {
            let members = 5 + (h >> 8) % 5000;
            let member = rng.random_range(0..members);
            Chat::Group {
                chat: -1_000_000_000_000 - (h >> 24) as i64 % 999_999_999,
                user: user_id(mix(h ^ member)),
            }
        }
    }

    pub fn pick_chat(&self, bot: usize, rng: &mut impl Rng) -> Chat {
        let rank = self.chat_zipf.sample(rng) as u64 - 1;
        self.chat(bot, rank % self.chats_per_bot, rng)
    }

    /// A kind in the proportions a bot sees in this kind of chat.
    pub fn pick_kind(chat: Chat, rng: &mut impl Rng) -> Kind {
        kind::pick(chat, |_| true, rng).expect("every chat has a mix")
    }

    /// A chat of `bot` by popularity and a kind of that chat's mix that goes to `lane`.
    pub fn pick_in_lane(&self, bot: usize, lane: Lane, rng: &mut impl Rng) -> (Chat, Kind) {
        // Every lane has kinds in groups or channels; redraw chats that have none (a channel
        // for the high lane), a handful of times at most in practice.
        loop {
            let chat = self.pick_chat(bot, rng);
            if let Some(kind) = kind::pick(chat, |k| k.lane() == lane, rng) {
                return (chat, kind);
            }
        }
    }

    /// A random update: bot and chat by popularity, kind by the chat's mix.
    pub fn random(&self, rng: &mut impl Rng) -> Update {
        self.random_at(now_secs(), rng)
    }

    /// [`Population::random`], sent at `date` (Unix seconds).
    pub fn random_at(&self, date: i64, rng: &mut impl Rng) -> Update {
        let bot = self.pick_bot(rng);
        let chat = self.pick_chat(bot, rng);
        let kind = Self::pick_kind(chat, rng);
        let update_id = self.next_update_id(bot);
        self.render(bot, update_id, chat, kind, date, rng)
    }

    /// An update of `kind` in `chat` to `bot`, with the bot's next update_id, dated now.
    pub fn make(&self, bot: usize, chat: Chat, kind: Kind, rng: &mut impl Rng) -> Update {
        let update_id = self.next_update_id(bot);
        self.render(bot, update_id, chat, kind, now_secs(), rng)
    }

    /// `bot`'s next update_id.
    pub fn next_update_id(&self, bot: usize) -> i64 {
        self.update_ids[bot].fetch_add(1, Ordering::Relaxed)
    }

    /// The update `update_id` of `kind` in `chat` to `bot`, sent at `date` (Unix seconds).
    pub fn render(
        &self,
        bot: usize,
        update_id: i64,
        chat: Chat,
        kind: Kind,
        date: i64,
        rng: &mut impl Rng,
    ) -> Update {
        let value = self.body(bot, update_id, chat, kind, date, rng);
        // By hand, so that update_id comes first as Telegram sends it (serde_json sorts keys).
        let body = format!("{{\"update_id\":{update_id},\"{}\":{value}}}", kind.field());
        Update {
            bot,
            update_id,
            chat,
            kind,
            body,
        }
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// User ids spread like Telegram's: most below 2^32, newer accounts above it.
fn user_id(h: u64) -> i64 {
    if h.is_multiple_of(5) {
        5_000_000_000 + (h >> 3) as i64 % 3_000_000_000
    } else {
        10_000_000 + (h >> 3) as i64 % 4_000_000_000
    }
}

/// splitmix64: derives stable ids from ranks without keeping a table of chats.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests;
