//! The Bot API's methods (Bot API 9.2), so that a reply's method is a real one and the
//! `method` label of `sluice_forward_replies_total` stays a bounded set. Telegram matches method
//! names without regard to case; so does [`canonical`]. A method Telegram adds later is refused
//! as unknown until it is added here.

/// Methods a webhook reply may not call through sluice: each would take the bot's updates away
/// from sluice (its webhook moved or removed, the bot logged out or switched to polling).
pub const REFUSED: &[&str] = &[
    "setWebhook",
    "deleteWebhook",
    "getUpdates",
    "logOut",
    "close",
];

/// Every Bot API method, as the documentation spells it, grouped as the documentation does.
#[rustfmt::skip]
pub const ALL: &[&str] = &[
    // Getting updates, and the bot itself
    "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "getMe", "logOut", "close",
    // Sending
    "sendMessage", "forwardMessage", "forwardMessages", "copyMessage", "copyMessages",
    "sendPhoto", "sendAudio", "sendDocument", "sendVideo", "sendAnimation", "sendVoice",
    "sendVideoNote", "sendPaidMedia", "sendMediaGroup", "sendLocation", "sendVenue",
    "sendContact", "sendPoll", "sendChecklist", "sendDice", "sendMessageDraft", "sendChatAction",
    "setMessageReaction", "getUserProfilePhotos", "setUserEmojiStatus", "getFile",
    // Chats and members
    "banChatMember", "unbanChatMember", "restrictChatMember", "promoteChatMember",
    "setChatAdministratorCustomTitle", "banChatSenderChat", "unbanChatSenderChat",
    "setChatPermissions", "exportChatInviteLink", "createChatInviteLink", "editChatInviteLink",
    "createChatSubscriptionInviteLink", "editChatSubscriptionInviteLink",
    "revokeChatInviteLink", "approveChatJoinRequest", "declineChatJoinRequest", "setChatPhoto",
    "deleteChatPhoto", "setChatTitle", "setChatDescription", "pinChatMessage",
    "unpinChatMessage", "unpinAllChatMessages", "leaveChat", "getChat", "getChatAdministrators",
    "getChatMemberCount", "getChatMember", "setChatStickerSet", "deleteChatStickerSet",
    // Forum topics
    "getForumTopicIconStickers", "createForumTopic", "editForumTopic", "closeForumTopic",
    "reopenForumTopic", "deleteForumTopic", "unpinAllForumTopicMessages",
    "editGeneralForumTopic", "closeGeneralForumTopic", "reopenGeneralForumTopic",
    "hideGeneralForumTopic", "unhideGeneralForumTopic", "unpinAllGeneralForumTopicMessages",
    // Queries, commands, the bot's profile
    "answerCallbackQuery", "getUserChatBoosts", "getBusinessConnection", "setMyCommands",
    "deleteMyCommands", "getMyCommands", "setMyName", "getMyName", "setMyDescription",
    "getMyDescription", "setMyShortDescription", "getMyShortDescription", "setChatMenuButton",
    "getChatMenuButton", "setMyDefaultAdministratorRights", "getMyDefaultAdministratorRights",
    // Gifts, verification, business accounts, stories
    "getAvailableGifts", "sendGift", "giftPremiumSubscription", "verifyUser", "verifyChat",
    "removeUserVerification", "removeChatVerification", "readBusinessMessage",
    "deleteBusinessMessages", "setBusinessAccountName", "setBusinessAccountUsername",
    "setBusinessAccountBio", "setBusinessAccountProfilePhoto",
    "removeBusinessAccountProfilePhoto", "setBusinessAccountGiftSettings",
    "getBusinessAccountStarBalance", "transferBusinessAccountStars", "getBusinessAccountGifts",
    "convertGiftToStars", "upgradeGift", "transferGift", "postStory", "editStory", "deleteStory",
    // Updating messages
    "editMessageText", "editMessageCaption", "editMessageMedia", "editMessageLiveLocation",
    "stopMessageLiveLocation", "editMessageChecklist", "editMessageReplyMarkup", "stopPoll",
    "approveSuggestedPost", "declineSuggestedPost", "deleteMessage", "deleteMessages",
    // Stickers
    "sendSticker", "getStickerSet", "getCustomEmojiStickers", "uploadStickerFile",
    "createNewStickerSet", "addStickerToSet", "setStickerPositionInSet", "deleteStickerFromSet",
    "replaceStickerInSet", "setStickerEmojiList", "setStickerKeywords", "setStickerMaskPosition",
    "setStickerSetTitle", "setStickerSetThumbnail", "setCustomEmojiStickerSetThumbnail",
    "deleteStickerSet",
    // Inline mode, Web Apps
    "answerInlineQuery", "answerWebAppQuery", "savePreparedInlineMessage",
    // Payments, Telegram Passport, games
    "sendInvoice", "createInvoiceLink", "answerShippingQuery", "answerPreCheckoutQuery",
    "getMyStarBalance", "getStarTransactions", "refundStarPayment", "editUserStarSubscription",
    "setPassportDataErrors", "sendGame", "setGameScore", "getGameHighScores",
];

/// The method's documented spelling, whatever the case of `name`; `None` for no method.
pub fn canonical(name: &str) -> Option<&'static str> {
    ALL.iter().copied().find(|m| m.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_refused_ones_known() {
        let mut seen = std::collections::HashSet::new();
        for m in ALL {
            assert!(seen.insert(m.to_ascii_lowercase()), "{m} twice");
            assert!(m.bytes().all(|b| b.is_ascii_alphabetic()), "{m}");
        }
        assert!(REFUSED.iter().all(|m| ALL.contains(m)));
    }

    #[test]
    fn any_case_finds_the_documented_spelling() {
        assert_eq!(canonical("sendmessage"), Some("sendMessage"));
        assert_eq!(canonical("SENDPHOTO"), Some("sendPhoto"));
        assert_eq!(canonical("sendMessage "), None);
        assert_eq!(canonical("dropTables"), None);
        assert_eq!(canonical(""), None);
    }
}
