//! A call's parameters as text, whichever body Telegram accepts carried them: JSON,
//! `application/x-www-form-urlencoded`, `multipart/form-data` (text fields; files skipped) or
//! the query string. The stand-in only needs `chat_id`, `text` and `allow_paid_broadcast`.

use std::collections::HashMap;

use axum::http::{HeaderMap, header::CONTENT_TYPE};
use serde_json::Value;

pub fn params(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return HashMap::new();
        };
        return map
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, text)
            })
            .collect();
    }
    if let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    {
        return multipart_fields(body, boundary.trim_matches('"'));
    }
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The text fields of a multipart body (a part without `filename=`).
fn multipart_fields(body: &[u8], boundary: &str) -> HashMap<String, String> {
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    let mut fields = HashMap::new();
    for part in text.split(delimiter.as_str()).skip(1) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        if head.contains("filename=") {
            continue;
        }
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        fields.insert(name.to_owned(), value.to_owned());
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_of_a_multipart_body() {
        let body = b"--xx\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n-100\r\n--xx\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a\"\r\n\r\nBIN\r\n--xx--\r\n";
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            "multipart/form-data; boundary=xx".parse().unwrap(),
        );
        let p = params(&headers, body);
        assert_eq!(p.get("chat_id").map(String::as_str), Some("-100"));
        assert!(!p.contains_key("photo"));
    }
}
