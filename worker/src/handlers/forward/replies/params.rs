//! A webhook reply's parameters as the Bot API client sends them: a JSON object when the reply
//! holds no file, `multipart/form-data` with the files when it does.
//!
//! Text from a form or a multipart part goes into the JSON object as a JSON string: Telegram
//! reads every parameter of a JSON body as it reads a form's (`"42"` for `chat_id`, a
//! `reply_markup` as JSON text), so the call means what the target sent.

use serde_json::{Map, Value};
use sluice_botapi::{FileBody, FilePart, Multipart, Params};

use crate::handlers::forward::reply::Param;

/// The content type of a file part that came without one.
const OCTET_STREAM: &str = "application/octet-stream";

/// The parameters of a reply, `method` left out.
pub fn to_params(params: Vec<(String, Param)>) -> Params {
    if params.iter().any(|(_, p)| matches!(p, Param::File(_))) {
        return Params::Multipart(multipart(params));
    }
    let mut map = Map::with_capacity(params.len());
    for (name, param) in params {
        let value = match param {
            Param::Json(v) => v,
            Param::Text(t) => Value::String(t),
            Param::File(_) => unreachable!("replies with files are sent as multipart"),
        };
        map.insert(name, value);
    }
    Params::Json(map)
}

fn multipart(params: Vec<(String, Param)>) -> Multipart {
    let mut form = Multipart::default();
    for (name, param) in params {
        form = match param {
            Param::Json(Value::String(s)) | Param::Text(s) => form.text(name, s),
            Param::Json(other) => form.text(name, other.to_string()),
            // Already read (a reply is at most 1 MiB): sent from memory, so the client may
            // retry it after a 5xx like any other call.
            Param::File(file) => form.file(FilePart {
                field: name,
                file_name: file.file_name,
                content_type: file.content_type.unwrap_or_else(|| OCTET_STREAM.to_owned()),
                body: FileBody::Bytes(file.bytes),
            }),
        };
    }
    form
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;
    use sluice_botapi::Chat;

    use super::*;
    use crate::handlers::forward::reply::FilePart as ReplyFile;

    #[test]
    fn json_and_text_become_one_json_object() {
        let p = to_params(vec![
            ("chat_id".into(), Param::Text("-100".into())),
            ("text".into(), Param::Json(json!("hi"))),
            (
                "reply_markup".into(),
                Param::Json(json!({"inline_keyboard": []})),
            ),
        ]);
        let Params::Json(map) = &p else {
            panic!("no file: JSON")
        };
        assert_eq!(map["chat_id"], json!("-100"));
        assert_eq!(map["reply_markup"], json!({"inline_keyboard": []}));
        // The limiter reads the chat from either form.
        assert_eq!(p.chat().unwrap(), Some(Chat::Id(-100)));
    }

    #[test]
    fn a_file_makes_it_multipart_and_keeps_the_other_parameters_as_text() {
        let p = to_params(vec![
            ("chat_id".into(), Param::Json(json!(7))),
            ("caption".into(), Param::Json(json!("a cat"))),
            ("reply_markup".into(), Param::Json(json!({"k": 1}))),
            (
                "photo".into(),
                Param::File(ReplyFile {
                    file_name: "cat.jpg".into(),
                    content_type: None,
                    bytes: Bytes::from_static(b"JPEG"),
                }),
            ),
        ]);
        assert!(p.replayable(), "in memory: retried like any call");
        let Params::Multipart(form) = p else {
            panic!("a file: multipart")
        };
        let fields: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("chat_id", "7"),
                ("caption", "a cat"),
                ("reply_markup", r#"{"k":1}"#)
            ]
        );
        let file = &form.files[0];
        assert_eq!(
            (file.field.as_str(), file.file_name.as_str()),
            ("photo", "cat.jpg")
        );
        assert_eq!(file.content_type, OCTET_STREAM);
        assert!(matches!(&file.body, FileBody::Bytes(b) if b.as_ref() == b"JPEG"));
    }
}
