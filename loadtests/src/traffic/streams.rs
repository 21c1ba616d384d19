//! The profiles' own streams of updates: the flood profile's quiet chats and flooding chat, and
//! what a simulated person of the users profile does.

use rand::Rng;
use serde::Serialize;

use super::{Chat, Kind, Population, Update};

/// The flood profile's flooding chat: one busy supergroup (a spam wave), all mentions.
pub const FLOOD_CHAT: Chat = Chat::Group {
    chat: -1_009_999_999_999,
    user: 7_000_000_001,
};
/// What the flooding chat sends.
pub const FLOOD_KIND: Kind = Kind::Mention;
/// What a quiet chat sends.
pub const QUIET_KIND: Kind = Kind::Text;

/// The flood profile's quiet chat number `i`: a private chat of its own.
pub fn quiet_chat(i: u32) -> Chat {
    Chat::Private(7_100_000_000 + i64::from(i))
}

/// What a person of the users profile does, and how often (percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// A private message, or a command.
    Normal,
    /// "@the_bot ..." in a supergroup.
    Mention,
    /// A reply to the bot's message, or a press on a button under it.
    Reply,
}

pub const BEHAVIOURS: [(Behaviour, u32); 3] = [
    (Behaviour::Normal, 60),
    (Behaviour::Mention, 25),
    (Behaviour::Reply, 15),
];

impl Behaviour {
    pub fn name(self) -> &'static str {
        match self {
            Behaviour::Normal => "normal",
            Behaviour::Mention => "mention",
            Behaviour::Reply => "reply",
        }
    }
}

/// A person's action: their behaviour and the update it made.
#[derive(Debug, Clone)]
pub struct Action {
    pub behaviour: Behaviour,
    pub update: Update,
}

impl Population {
    /// Person number `person` does something, to a bot by popularity, sent at `date`. Each person
    /// talks in private and in one supergroup (shared with other people: one of 20).
    pub fn act(&self, person: u64, date: i64, rng: &mut impl Rng) -> Action {
        let me = 6_000_000_000 + person as i64;
        let group = Chat::Group {
            chat: -1_008_000_000_000 - (person % 20) as i64,
            user: me,
        };
        let bot = self.pick_bot(rng);
        let behaviour = behaviour(rng.random_range(0..100));
        let (chat, kind) = match behaviour {
            Behaviour::Normal => (
                Chat::Private(me),
                if rng.random_bool(0.25) {
                    Kind::Command
                } else {
                    Kind::Text
                },
            ),
            Behaviour::Mention => (group, Kind::Mention),
            Behaviour::Reply => (
                if rng.random_bool(0.5) {
                    Chat::Private(me)
                } else {
                    group
                },
                if rng.random_bool(0.5) {
                    Kind::Reply
                } else {
                    Kind::Callback
                },
            ),
        };
        let update_id = self.next_update_id(bot);
        Action {
            behaviour,
            update: self.render(bot, update_id, chat, kind, date, rng),
        }
    }
}

fn behaviour(mut roll: u32) -> Behaviour {
    for (b, weight) in BEHAVIOURS {
        if roll < weight {
            return b;
        }
        roll -= weight;
    }
    Behaviour::Reply
}
