//! What a Bot API update of each kind the model makes must hold (the fields Telegram always
//! sends), checked on the bodies the k6 and wrk sides produce.

use serde_json::Value;

/// The problems of the update `body`, empty when it has the Bot API's shape.
pub fn problems(body: &str) -> Vec<String> {
    let Ok(update) = serde_json::from_str::<Value>(body) else {
        return vec!["not JSON".into()];
    };
    let mut p = Vec::new();
    let Some(top) = update.as_object() else {
        return vec!["not an object".into()];
    };
    if !top.get("update_id").is_some_and(Value::is_i64) {
        p.push("update_id is not an integer".into());
    }
    let fields: Vec<&String> = top.keys().filter(|k| *k != "update_id").collect();
    let [field] = fields[..] else {
        return vec![format!(
            "expected one field beside update_id, got {fields:?}"
        )];
    };
    let v = &top[field.as_str()];
    match field.as_str() {
        "message" | "edited_message" | "channel_post" => message(field, v, &mut p),
        "callback_query" => {
            need_str(v, "/id", &mut p);
            user(v, "/from", &mut p);
            need_str(v, "/chat_instance", &mut p);
            need_str(v, "/data", &mut p);
            message("message", &v["message"], &mut p);
        }
        "my_chat_member" => {
            chat(v, "/chat", &mut p);
            user(v, "/from", &mut p);
            need_int(v, "/date", &mut p);
            need_str(v, "/old_chat_member/status", &mut p);
            need_str(v, "/new_chat_member/status", &mut p);
            user(v, "/new_chat_member/user", &mut p);
        }
        "message_reaction" => {
            chat(v, "/chat", &mut p);
            need_int(v, "/message_id", &mut p);
            user(v, "/user", &mut p);
            need_int(v, "/date", &mut p);
            if !v["new_reaction"].is_array() || !v["old_reaction"].is_array() {
                p.push("reactions are not lists".into());
            }
        }
        other => p.push(format!("a kind the model does not make: {other}")),
    }
    p
}

fn message(field: &str, m: &Value, p: &mut Vec<String>) {
    need_int(m, "/message_id", p);
    need_int(m, "/date", p);
    chat(m, "/chat", p);
    let channel = m.pointer("/chat/type") == Some(&Value::from("channel"));
    if channel {
        chat(m, "/sender_chat", p);
    } else {
        user(m, "/from", p);
    }
    if field == "edited_message" {
        need_int(m, "/edit_date", p);
    }
    let content = ["text", "photo", "sticker", "caption"];
    if !content.iter().any(|c| m.get(c).is_some()) {
        p.push(format!("{field} without content"));
    }
    // Entities are in UTF-16 code units, as Telegram counts them, and lie within the text.
    let text_len = m["text"]
        .as_str()
        .map_or(0, |t| t.encode_utf16().count() as u64);
    for e in m["entities"].as_array().into_iter().flatten() {
        let (offset, length) = (e["offset"].as_u64(), e["length"].as_u64());
        match (offset, length) {
            (Some(o), Some(l)) if o + l <= text_len => {}
            _ => p.push(format!("entity {e} outside a text of {text_len}")),
        }
    }
    if let Some(reply) = m.get("reply_to_message") {
        message("reply_to_message", reply, p);
    }
}

fn chat(v: &Value, at: &str, p: &mut Vec<String>) {
    need_int(v, &format!("{at}/id"), p);
    let kinds = ["private", "group", "supergroup", "channel"];
    match v.pointer(&format!("{at}/type")).and_then(Value::as_str) {
        Some(t) if kinds.contains(&t) => {}
        other => p.push(format!("{at}/type is {other:?}")),
    }
}

fn user(v: &Value, at: &str, p: &mut Vec<String>) {
    need_int(v, &format!("{at}/id"), p);
    need_str(v, &format!("{at}/first_name"), p);
    if !v
        .pointer(&format!("{at}/is_bot"))
        .is_some_and(Value::is_boolean)
    {
        p.push(format!("{at}/is_bot is not a boolean"));
    }
}

fn need_int(v: &Value, at: &str, p: &mut Vec<String>) {
    if !v.pointer(at).is_some_and(Value::is_i64) {
        p.push(format!("{at} is not an integer"));
    }
}

fn need_str(v: &Value, at: &str, p: &mut Vec<String>) {
    if !v.pointer(at).is_some_and(Value::is_string) {
        p.push(format!("{at} is not a string"));
    }
}
