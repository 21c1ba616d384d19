//! Every Telegram update fixture classifies as expected, and every fixture has an expectation.

use std::{collections::BTreeSet, fs, path::PathBuf};

use sluice_shared::telegram::{Classified, classify};

const ANNA: i64 = 7_123_456_789;
const IVAN: i64 = 5_987_654_321;
const KENJI: i64 = 1_234_567_890;
const MARIA: i64 = 6_234_567_890;
const TOM: i64 = 7_345_678_901;
/// A private chat has the id of the user on the other side.
const TOM_CHAT: i64 = TOM;
const ANNA_CHAT: i64 = ANNA;
const BASIC_GROUP: i64 = -4_012_345_678;
const SUPERGROUP: i64 = -1_001_234_567_890;
const FORUM: i64 = -1_001_987_654_321;
const CHANNEL: i64 = -1_002_233_445_566;
/// The placeholder user Telegram puts in `poll_answer.user` when a chat voted.
const CHANNEL_BOT: i64 = 136_817_688;

/// Every kind of Bot API 9.x update, each of which needs at least one fixture.
const KINDS: [&str; 23] = [
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
];

/// Fixture name (file stem) → kind, chat_id, user_id, is_command.
type Expected = (&'static str, &'static str, Option<i64>, Option<i64>, bool);

#[rustfmt::skip]
const EXPECTED: &[Expected] = &[
    ("message",                             "message",                   Some(ANNA_CHAT),   Some(ANNA),        false),
    ("edited_message",                      "edited_message",            Some(BASIC_GROUP), Some(IVAN),        false),
    // A caption is not a text: a caption opening with "/changelog" is no command.
    ("channel_post",                        "channel_post",              Some(CHANNEL),     None,              false),
    ("edited_channel_post",                 "edited_channel_post",       Some(CHANNEL),     None,              false),
    ("business_connection",                 "business_connection",       Some(MARIA),       Some(MARIA),       false),
    ("business_message",                    "business_message",          Some(TOM_CHAT),    Some(TOM),         false),
    // The business account's owner answers in the customer's chat.
    ("edited_business_message",             "edited_business_message",   Some(TOM_CHAT),    Some(MARIA),       false),
    ("deleted_business_messages",           "deleted_business_messages", Some(TOM_CHAT),    None,              false),
    ("message_reaction",                    "message_reaction",          Some(SUPERGROUP),  Some(KENJI),       false),
    ("message_reaction_count",              "message_reaction_count",    Some(CHANNEL),     None,              false),
    ("inline_query",                        "inline_query",              None,              Some(ANNA),        false),
    ("chosen_inline_result",                "chosen_inline_result",      None,              Some(ANNA),        false),
    ("callback_query",                      "callback_query",            Some(ANNA_CHAT),   Some(ANNA),        false),
    ("callback_query_inaccessible_message", "callback_query",            Some(SUPERGROUP),  Some(IVAN),        false),
    ("callback_query_inline_message",       "callback_query",            None,              Some(KENJI),       false),
    ("shipping_query",                      "shipping_query",            None,              Some(IVAN),        false),
    ("pre_checkout_query",                  "pre_checkout_query",        None,              Some(ANNA),        false),
    ("purchased_paid_media",                "purchased_paid_media",      None,              Some(KENJI),       false),
    ("poll",                                "poll",                      None,              None,              false),
    ("poll_answer",                         "poll_answer",               None,              Some(KENJI),       false),
    ("poll_answer_voter_chat",              "poll_answer",               Some(CHANNEL),     Some(CHANNEL_BOT), false),
    ("my_chat_member",                      "my_chat_member",            Some(TOM_CHAT),    Some(TOM),         false),
    // `from` is the admin who banned the member, not the member.
    ("chat_member",                         "chat_member",               Some(SUPERGROUP),  Some(IVAN),        false),
    ("chat_join_request",                   "chat_join_request",         Some(FORUM),       Some(ANNA),        false),
    ("chat_boost",                          "chat_boost",                Some(CHANNEL),     Some(ANNA),        false),
    ("removed_chat_boost",                  "removed_chat_boost",        Some(CHANNEL),     Some(IVAN),        false),
    // The replied-to message nests its own chat and sender; only the update's own count.
    ("message_supergroup",                  "message",                   Some(SUPERGROUP),  Some(IVAN),        false),
    ("channel_post_sender_chat",            "channel_post",              Some(CHANNEL),     None,              false),
    ("message_bot_command",                 "message",                   Some(SUPERGROUP),  Some(ANNA),        true),
    // An unknown kind is accepted, and its `chat` and `from` are read generically.
    ("future_thing",                        "future_thing",              Some(SUPERGROUP),  Some(ANNA),        false),
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/telegram")
}

#[test]
fn every_fixture_has_an_expectation_and_every_kind_a_fixture() {
    let mut files = BTreeSet::new();
    for entry in fs::read_dir(fixture_dir()).expect("fixture directory") {
        let path = entry.expect("fixture entry").path();
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("json"),
            "{path:?}"
        );
        files.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
    }
    let listed: BTreeSet<String> = EXPECTED.iter().map(|e| e.0.to_owned()).collect();
    assert_eq!(listed.len(), EXPECTED.len(), "a fixture is listed twice");
    assert_eq!(files, listed, "fixture files and expectations differ");
    for kind in KINDS {
        assert!(
            EXPECTED.iter().any(|e| e.1 == kind),
            "no fixture of kind {kind}"
        );
    }
}

#[test]
fn every_fixture_classifies_as_expected() {
    let mut failures = Vec::new();
    for &(name, kind, chat_id, user_id, is_command) in EXPECTED {
        let body = fs::read(fixture_dir().join(format!("{name}.json"))).expect(name);
        // The full parser, affordable in a test, checks the fixture itself: one update, one kind.
        let full: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&body).expect(name);
        let keys: Vec<&str> = full.keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 2, "{name}: {keys:?}");
        assert!(keys.contains(&kind), "{name}: {keys:?}");
        let want = Classified {
            update_id: full["update_id"].as_i64().expect(name),
            kind: kind.to_owned(),
            chat_id,
            user_id,
            is_command,
            fallback: None,
        };
        match classify(&body) {
            Ok(got) if got == want => {}
            got => failures.push(format!("{name}: got {got:?}, want {want:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
