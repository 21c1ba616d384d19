//! The users and chats of the Bot API's JSON: who wrote, and where.

use serde_json::{Value, json};

use super::{Chat, mix};

/// The `chat` object and the `from` user of a message in `chat`.
pub(super) fn chat_and_sender(chat: Chat) -> (Value, Value) {
    match chat {
        Chat::Private(id) => {
            let user = person(id);
            let mut chat = user.clone();
            let obj = chat.as_object_mut().expect("object");
            obj.remove("is_bot");
            obj.remove("language_code");
            obj.insert("type".into(), json!("private"));
            (chat, user)
        }
        Chat::Group { chat, user } => (
            json!({"id": chat, "title": format!("Group {}", chat.unsigned_abs() % 100_000), "type": "supergroup", "is_forum": chat % 7 == 0}),
            person(user),
        ),
        Chat::Channel(id) => (
            json!({"id": id, "title": format!("Channel {}", id.unsigned_abs() % 100_000), "type": "channel"}),
            json!(null),
        ),
    }
}

fn person(id: i64) -> Value {
    const FIRST: [&str; 8] = [
        "Anna", "Ivan", "Maria", "José", "Wei", "Fatima", "Lukas", "Aiko",
    ];
    const LANGUAGES: [&str; 5] = ["en", "ru", "es", "de", "pt-br"];
    let h = mix(id as u64);
    let language = LANGUAGES[(h % 5) as usize];
    let mut user = json!({
        "id": id,
        "is_bot": false,
        "first_name": FIRST[(h % 8) as usize],
        "language_code": language,
    });
    if !h.is_multiple_of(3) {
        user["username"] = json!(format!("user{}", h % 10_000_000));
    }
    user
}
