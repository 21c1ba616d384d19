//! Which Bot API methods count against which limits: the table docs/outbound.md repeats.
//!
//! Telegram's limits are on *messages*. A method that puts a message in a chat (or changes one)
//! counts against that chat, its group when the chat is one, and the bot. Answers to callback,
//! inline, shipping and pre-checkout queries, chat actions and every `get*` call are not messages:
//! they pass no limiter, so they are never held behind bulk sends. Anything else (deleting,
//! pinning, moderating, methods newer than this table) counts against the bot only: cautious,
//! since Telegram counts a 429 against the whole bot.

/// What a method counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A message: the chat (and its group), and the bot or the paid-broadcast budget.
    Chat,
    /// Not a message, but a write: the bot's budget only.
    Bot,
    /// No limit at all (query answers, chat actions, reads).
    Free,
}

/// Methods that send or change a message in a chat.
const CHAT: &[&str] = &[
    "sendMessage",
    "forwardMessage",
    "forwardMessages",
    "copyMessage",
    "copyMessages",
    "sendPhoto",
    "sendAudio",
    "sendDocument",
    "sendVideo",
    "sendAnimation",
    "sendVoice",
    "sendVideoNote",
    "sendPaidMedia",
    "sendMediaGroup",
    "sendLocation",
    "sendVenue",
    "sendContact",
    "sendPoll",
    "sendChecklist",
    "sendDice",
    "sendSticker",
    "sendInvoice",
    "sendGame",
    "editMessageText",
    "editMessageCaption",
    "editMessageMedia",
    "editMessageLiveLocation",
    "stopMessageLiveLocation",
    "editMessageReplyMarkup",
    "editMessageChecklist",
    "stopPoll",
];

/// Methods that are not messages and pass no limiter (besides every `get*` method).
const FREE: &[&str] = &[
    "answerCallbackQuery",
    "answerInlineQuery",
    "answerShippingQuery",
    "answerPreCheckoutQuery",
    "answerWebAppQuery",
    "sendChatAction",
    "setWebhook",
    "deleteWebhook",
    "logOut",
    "close",
];

/// Writes that are not messages, named so that their metric label is their own.
const BOT: &[&str] = &[
    "deleteMessage",
    "deleteMessages",
    "setMessageReaction",
    "pinChatMessage",
    "unpinChatMessage",
    "unpinAllChatMessages",
    "banChatMember",
    "unbanChatMember",
    "restrictChatMember",
    "promoteChatMember",
    "approveChatJoinRequest",
    "declineChatJoinRequest",
    "setMyCommands",
    "deleteMyCommands",
    "leaveChat",
    "createChatInviteLink",
];

/// Read-only methods named for their label (every `get*` method is free whether named or not).
const GET: &[&str] = &[
    "getMe",
    "getUpdates",
    "getFile",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "getChatMemberCount",
    "getUserProfilePhotos",
    "getMyCommands",
    "getWebhookInfo",
];

/// The class of `method`; Telegram matches method names without regard to case, so do we.
pub fn class(method: &str) -> Class {
    let is = |table: &[&str]| table.iter().any(|m| m.eq_ignore_ascii_case(method));
    if is(CHAT) {
        Class::Chat
    } else if is(FREE) || is(GET) || starts_with_ignore_case(method, "get") {
        Class::Free
    } else {
        Class::Bot
    }
}

/// The `method` label of a call: the method's canonical name when this table knows it, else
/// `other` (the proxy forwards whatever name a client sends; labels stay a bounded set).
pub fn label(method: &str) -> &'static str {
    [CHAT, FREE, BOT, GET]
        .iter()
        .flat_map(|t| t.iter())
        .find(|m| m.eq_ignore_ascii_case(method))
        .copied()
        .unwrap_or("other")
}

/// A method name as Telegram accepts it: letters only, at most 64 (it becomes a URL path segment).
pub fn valid_name(method: &str) -> bool {
    (1..=64).contains(&method.len()) && method.bytes().all(|b| b.is_ascii_alphabetic())
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_count_against_the_chat_and_answers_against_nothing() {
        assert_eq!(class("sendMessage"), Class::Chat);
        assert_eq!(class("SENDMESSAGE"), Class::Chat);
        assert_eq!(class("editMessageText"), Class::Chat);
        assert_eq!(class("answerCallbackQuery"), Class::Free);
        assert_eq!(class("answerInlineQuery"), Class::Free);
        assert_eq!(class("getStarTransactions"), Class::Free);
        assert_eq!(class("deleteMessage"), Class::Bot);
        assert_eq!(class("someFutureMethod"), Class::Bot);
    }

    #[test]
    fn labels_are_a_bounded_set() {
        assert_eq!(label("sendmessage"), "sendMessage");
        assert_eq!(label("getStarTransactions"), "other");
        assert_eq!(label("x".repeat(60).as_str()), "other");
        assert!(valid_name("sendMessage"));
        assert!(!valid_name("send/Message"));
        assert!(!valid_name(""));
    }
}
