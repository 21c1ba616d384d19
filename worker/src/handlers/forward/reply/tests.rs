//! The three body types, each as a framework sends it, and the bounds.

use bytes::Bytes;
use serde_json::json;

use super::*;

async fn parsed(content_type: &str, body: &str) -> Result<Option<WebhookReply>, ReplyError> {
    parse(content_type, Bytes::from(body.to_owned())).await
}

fn text(reply: &WebhookReply, name: &str) -> Option<Param> {
    reply
        .params()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.clone())
}

#[tokio::test]
async fn json_as_grammy_sends_it() {
    let body = r#"{"method":"sendMessage","chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[]}}"#;
    let reply = parsed("application/json; charset=utf-8", body)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.method(), "sendMessage");
    assert_eq!(text(&reply, "chat_id"), Some(Param::Json(json!(42))));
    assert_eq!(
        text(&reply, "reply_markup"),
        Some(Param::Json(json!({"inline_keyboard": []})))
    );
    assert_eq!(reply.params().len(), 3);
    assert!(!reply.has_files());
}

#[tokio::test]
async fn form_urlencoded() {
    let reply = parsed(
        "application/x-www-form-urlencoded",
        "method=SENDMESSAGE&chat_id=-100123&text=h%C3%A9+there",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(reply.method(), "sendMessage", "Telegram ignores the case");
    assert_eq!(text(&reply, "text"), Some(Param::Text("hé there".into())));
    assert_eq!(text(&reply, "chat_id"), Some(Param::Text("-100123".into())));
}

#[tokio::test]
async fn multipart_with_a_file_as_aiogram_sends_it() {
    let body = "--XyZ\r\n\
        Content-Disposition: form-data; name=\"method\"\r\n\r\n\
        sendDocument\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"chat_id\"\r\n\r\n\
        7\r\n\
        --XyZ\r\n\
        Content-Disposition: form-data; name=\"document\"; filename=\"a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\n\
        file body\r\n\
        --XyZ--\r\n";
    let reply = parsed("multipart/form-data; boundary=XyZ", body)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.method(), "sendDocument");
    assert_eq!(text(&reply, "chat_id"), Some(Param::Text("7".into())));
    let Some(Param::File(file)) = text(&reply, "document") else {
        panic!("{reply:?}")
    };
    assert_eq!(file.file_name, "a.txt");
    assert_eq!(file.content_type.as_deref(), Some("text/plain"));
    assert_eq!(&file.bytes[..], b"file body");
    assert!(reply.has_files());
}

#[tokio::test]
async fn what_is_no_reply_is_none() {
    for (ct, body) in [
        ("application/json", ""),
        ("application/json", "  \n"),
        ("application/json", r#"{"ok":true}"#),
        ("application/json", "[1,2]"),
        ("text/plain", "method=sendMessage"),
        ("", r#"{"method":"sendMessage"}"#),
        ("application/x-www-form-urlencoded", "chat_id=1"),
    ] {
        assert_eq!(parsed(ct, body).await, Ok(None), "{ct}: {body}");
    }
}

#[tokio::test]
async fn bad_replies_are_refused_without_their_values() {
    let cases = [
        (
            "application/json",
            r#"{"method":"dropTables","text":"s3cr3t"}"#,
        ),
        ("application/json", r#"{"method":7}"#),
        ("application/json", r#"{"method":"sendMessage","#),
        (
            "application/x-www-form-urlencoded",
            "method=setWebhook&url=x",
        ),
        ("multipart/form-data", "no boundary"),
        ("multipart/form-data; boundary=q", "--q\r\nbroken"),
    ];
    let mut errors = Vec::new();
    for (ct, body) in cases {
        let e = parsed(ct, body).await.unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        errors.push(e);
    }
    assert_eq!(errors[0], ReplyError::UnknownMethod(10));
    assert_eq!(errors[1], ReplyError::MethodNotText);
    assert_eq!(errors[2], ReplyError::Malformed("JSON"));
    assert_eq!(errors[3], ReplyError::Refused("setWebhook"));
    assert_eq!(errors[4], ReplyError::Malformed("multipart/form-data"));
}

#[tokio::test]
async fn bounded_in_size_and_fields() {
    let big = format!(
        r#"{{"method":"sendMessage","text":"{}"}}"#,
        "x".repeat(MAX_BYTES)
    );
    assert_eq!(
        parsed("application/json", &big).await,
        Err(ReplyError::TooLarge)
    );
    let many: String = (0..=MAX_FIELDS).map(|i| format!("&p{i}=1")).collect();
    assert_eq!(
        parsed(
            "application/x-www-form-urlencoded",
            &format!("method=sendMessage{many}")
        )
        .await,
        Err(ReplyError::TooManyFields)
    );
    let fields: Vec<String> = (0..=MAX_FIELDS).map(|i| format!(r#""p{i}":1"#)).collect();
    let json = format!(r#"{{"method":"sendMessage",{}}}"#, fields.join(","));
    assert_eq!(
        parsed("application/json", &json).await,
        Err(ReplyError::TooManyFields)
    );
}

#[test]
fn debug_shows_names_not_values() {
    let reply = reply(
        Some("sendMessage".into()),
        vec![("text".into(), Param::Text("s3cr3t".into()))],
    )
    .unwrap()
    .unwrap();
    let debug = format!("{reply:?}");
    assert_eq!(
        debug,
        r#"WebhookReply { method: "sendMessage", params: ["text"] }"#
    );
}
