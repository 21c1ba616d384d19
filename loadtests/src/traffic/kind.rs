//! The update kinds the model makes, what each is on the wire (its Bot API field, its lane) and
//! the mix of kinds a bot sees in each sort of chat.

use rand::Rng;
use serde::Serialize;
use sluice_shared::lanes::Lane;

use super::Chat;

/// The update kinds the generator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Text,
    /// A text message that @-mentions the bot (the only group text a privacy-mode bot sees).
    Mention,
    Command,
    /// A reply to one of the bot's own messages.
    Reply,
    Callback,
    Photo,
    Sticker,
    Edited,
    /// The bot added to or removed from a chat (`my_chat_member`).
    MemberChange,
    ChannelPost,
    /// A member's emoji reaction to a message (`message_reaction`).
    Reaction,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Text,
        Kind::Mention,
        Kind::Command,
        Kind::Reply,
        Kind::Callback,
        Kind::Photo,
        Kind::Sticker,
        Kind::Edited,
        Kind::MemberChange,
        Kind::ChannelPost,
        Kind::Reaction,
    ];

    /// The model's name of the kind (in the exported fixtures).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Mention => "mention",
            Kind::Command => "command",
            Kind::Reply => "reply",
            Kind::Callback => "callback",
            Kind::Photo => "photo",
            Kind::Sticker => "sticker",
            Kind::Edited => "edited",
            Kind::MemberChange => "member_change",
            Kind::ChannelPost => "channel_post",
            Kind::Reaction => "reaction",
        }
    }

    /// The update's field beside `update_id`: what sluice classifies it as.
    pub fn field(self) -> &'static str {
        match self {
            Kind::Text
            | Kind::Mention
            | Kind::Command
            | Kind::Reply
            | Kind::Photo
            | Kind::Sticker => "message",
            Kind::Callback => "callback_query",
            Kind::Edited => "edited_message",
            Kind::MemberChange => "my_chat_member",
            Kind::ChannelPost => "channel_post",
            Kind::Reaction => "message_reaction",
        }
    }

    /// The lane sluice's default rules put it in (a test holds this to `LaneRules::default()`).
    pub fn lane(self) -> Lane {
        match self {
            Kind::Command | Kind::Callback => Lane::High,
            Kind::ChannelPost | Kind::Reaction => Lane::Low,
            _ => Lane::Normal,
        }
    }
}

/// Percentages of the kinds in a private chat.
pub const PRIVATE_MIX: [(Kind, u32); 7] = [
    (Kind::Text, 60),
    (Kind::Command, 15),
    (Kind::Callback, 12),
    (Kind::Photo, 5),
    (Kind::Sticker, 4),
    (Kind::Edited, 3),
    (Kind::MemberChange, 1),
];

/// Percentages of the kinds in a supergroup (a privacy-mode bot sees mentions, not all text).
pub const GROUP_MIX: [(Kind, u32); 9] = [
    (Kind::Mention, 32),
    (Kind::Command, 15),
    (Kind::Reply, 15),
    (Kind::Callback, 15),
    (Kind::Photo, 8),
    (Kind::Sticker, 5),
    (Kind::Edited, 5),
    (Kind::Reaction, 3),
    (Kind::MemberChange, 2),
];

/// A channel the bot administers sends nothing but posts.
pub const CHANNEL_MIX: [(Kind, u32); 1] = [(Kind::ChannelPost, 100)];

/// The mix of kinds a bot sees in `chat`.
pub fn mix(chat: Chat) -> &'static [(Kind, u32)] {
    match chat {
        Chat::Private(_) => &PRIVATE_MIX,
        Chat::Group { .. } => &GROUP_MIX,
        Chat::Channel(_) => &CHANNEL_MIX,
    }
}

/// A kind of `chat`'s mix, among those `keep` accepts, in their proportions; `None` when the
/// chat sees no such kind.
pub fn pick(chat: Chat, keep: impl Fn(Kind) -> bool, rng: &mut impl Rng) -> Option<Kind> {
    let kinds = || mix(chat).iter().filter(|(k, _)| keep(*k));
    let total: u32 = kinds().map(|(_, w)| w).sum();
    if total == 0 {
        return None;
    }
    let mut r = rng.random_range(0..total);
    for (kind, weight) in kinds() {
        if r < *weight {
            return Some(*kind);
        }
        r -= weight;
    }
    unreachable!("r < total")
}
