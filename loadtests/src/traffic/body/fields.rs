//! The fields of each kind: what a mention, a command, a photo... adds to a message, and the
//! kinds that are updates of their own (callback queries, membership changes, reactions).

use rand::Rng;
use serde_json::{Map, Value, json};

use super::super::{Chat, mix};
use super::Parts;

pub(super) fn bot_username(p: &Parts) -> String {
    p.bot_user["username"].as_str().unwrap_or("bot").to_owned()
}

/// A text message that @-mentions the bot.
pub(super) fn mention(m: &mut Map<String, Value>, p: &Parts) {
    let mention = format!("@{}", bot_username(p));
    let len = utf16_len(&mention);
    m.insert("text".into(), json!(format!("{mention} {}", p.text)));
    m.insert(
        "entities".into(),
        json!([{"offset": 0, "length": len, "type": "mention"}]),
    );
}

pub(super) fn command(m: &mut Map<String, Value>, p: &Parts, chat: Chat, rng: &mut impl Rng) {
    const COMMANDS: [&str; 6] = [
        "/start",
        "/help",
        "/settings",
        "/stats",
        "/subscribe",
        "/cancel",
    ];
    let cmd = COMMANDS[rng.random_range(0..COMMANDS.len())];
    let cmd = match chat {
        Chat::Group { .. } => format!("{cmd}@{}", bot_username(p)),
        _ => cmd.to_owned(),
    };
    let len = utf16_len(&cmd);
    let arg: String = p.text.split(' ').take(2).collect::<Vec<_>>().join("_");
    m.insert("text".into(), json!(format!("{cmd} {arg}")));
    m.insert(
        "entities".into(),
        json!([{"offset": 0, "length": len, "type": "bot_command"}]),
    );
}

pub(super) fn photo(m: &mut Map<String, Value>, p: &Parts, rng: &mut impl Rng) {
    let sizes: Vec<Value> = [(90, 67), (320, 240), (800, 600), (1280, 960)]
        .iter()
        .map(|(w, h)| {
            json!({
                "file_id": file_id(rng, 83),
                "file_unique_id": file_id(rng, 16),
                "file_size": w * h / 6,
                "width": w,
                "height": h,
            })
        })
        .collect();
    m.insert("photo".into(), json!(sizes));
    if rng.random_bool(0.4) {
        m.insert("caption".into(), json!(p.text));
    }
}

pub(super) fn sticker(m: &mut Map<String, Value>, rng: &mut impl Rng) {
    m.insert(
        "sticker".into(),
        json!({
            "file_id": file_id(rng, 71),
            "file_unique_id": file_id(rng, 16),
            "type": "regular",
            "width": 512, "height": 512,
            "is_animated": false, "is_video": true,
            "emoji": "\u{1F44D}",
            "set_name": "HotCherry",
            "thumbnail": {"file_id": file_id(rng, 71), "file_unique_id": file_id(rng, 16), "file_size": 5416, "width": 128, "height": 128},
            "file_size": 31_337,
        }),
    );
}

pub(super) fn edited(m: &mut Map<String, Value>, p: &Parts, rng: &mut impl Rng) {
    m.insert("text".into(), json!(p.text));
    m.insert("edit_date".into(), json!(p.date));
    m.insert("date".into(), json!(p.date - rng.random_range(5..600)));
}

pub(super) fn channel_post(m: &mut Map<String, Value>, p: &Parts) {
    m.remove("from");
    m.insert("sender_chat".into(), m["chat"].clone());
    m.insert("text".into(), json!(p.text));
}

/// A press on one of the bot's inline buttons: an update of its own.
pub(super) fn callback_query(m: &Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> Value {
    let chat_instance = (mix(p.message_id as u64) as i64).to_string();
    json!({
            "id": (mix(p.update_id as u64) >> 1).to_string(),
            "from": m["from"].clone(),
            "message": {
                "message_id": p.message_id,
                "from": p.bot_user,
                "chat": m["chat"].clone(),
                "date": p.date - rng.random_range(1..86_400),
                "text": p.text,
                "reply_markup": {"inline_keyboard": [[
                    {"text": "Yes", "callback_data": "vote:yes"},
                    {"text": "No", "callback_data": "vote:no"}
                ]]},
            },
            "chat_instance": chat_instance,
            "data": if rng.random_bool(0.5) { "vote:yes" } else { "vote:no" },
    })
}

/// The bot added to or removed from a chat: an update of its own.
pub(super) fn member_change(m: &Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> Value {
    let (old, new) = if rng.random_bool(0.5) {
        ("member", "kicked")
    } else {
        ("left", "member")
    };
    json!({
        "chat": m["chat"].clone(),
        "from": m["from"].clone(),
        "date": p.date,
        "old_chat_member": {"user": p.bot_user, "status": old},
        "new_chat_member": {"user": p.bot_user, "status": new, "until_date": 0},
    })
}

/// A member's emoji on an earlier message: an update of its own.
pub(super) fn reaction(m: &Map<String, Value>, p: &Parts, rng: &mut impl Rng) -> Value {
    const EMOJI: [&str; 6] = ["👍", "❤", "🔥", "🎉", "😁", "🤔"];
    let emoji = EMOJI[rng.random_range(0..EMOJI.len())];
    json!({
        "chat": m["chat"].clone(),
        "message_id": p.message_id - rng.random_range(1..200),
        "user": m["from"].clone(),
        "date": p.date,
        "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": emoji}],
    })
}

pub(super) fn file_id(rng: &mut impl Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub(super) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}
