//! A `multipart/form-data` call's parts, and their encoding (RFC 7578) as a stream: text fields, then each file's bytes
//! as they are read. Hand-written because reqwest's `multipart` feature brings `mime_guess`,
//! which this build cannot fetch, and the encoding is a few lines of framing.

use bytes::Bytes;
use futures::{StreamExt, stream, stream::BoxStream};

/// A `multipart/form-data` call: text fields, then files.
#[derive(Default)]
pub struct Multipart {
    pub fields: Vec<(String, String)>,
    pub files: Vec<FilePart>,
}

impl Multipart {
    pub fn text(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    pub fn file(mut self, part: FilePart) -> Self {
        self.files.push(part);
        self
    }
}

/// One uploaded file.
pub struct FilePart {
    /// The form field (`photo`, `document`, or the name an `attach://` refers to).
    pub field: String,
    pub file_name: String,
    pub content_type: String,
    pub body: FileBody,
}

/// Where a file's bytes come from.
pub enum FileBody {
    /// In memory: the call can be retried.
    Bytes(Bytes),
    /// Streamed as it is read (a proxied upload, a large file): sent once, never buffered whole.
    Stream(Option<BoxStream<'static, std::io::Result<Bytes>>>),
}

/// The content type (with its boundary) and the body; `None` when a streamed file was already
/// taken by an earlier attempt.
pub(crate) fn encode(form: &mut Multipart) -> Option<(String, reqwest::Body)> {
    let boundary = format!("sluice-{:032x}", rand::random::<u128>());
    let mut head = Vec::new();
    for (name, value) in &form.fields {
        head.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n",
                quoted(name)
            )
            .as_bytes(),
        );
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    let mut parts: Vec<stream::BoxStream<'static, std::io::Result<Bytes>>> =
        vec![stream::iter([Ok(Bytes::from(head))]).boxed()];
    for file in &mut form.files {
        let header = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\nContent-Type: {}\r\n\r\n",
            quoted(&file.field),
            quoted(&file.file_name),
            file.content_type.replace(['\r', '\n'], "")
        );
        parts.push(stream::iter([Ok(Bytes::from(header))]).boxed());
        match &mut file.body {
            FileBody::Bytes(bytes) => parts.push(stream::iter([Ok(bytes.clone())]).boxed()),
            FileBody::Stream(taken) => parts.push(taken.take()?),
        }
        parts.push(stream::iter([Ok(Bytes::from_static(b"\r\n"))]).boxed());
    }
    parts.push(stream::iter([Ok(Bytes::from(format!("--{boundary}--\r\n")))]).boxed());
    Some((
        format!("multipart/form-data; boundary={boundary}"),
        reqwest::Body::wrap_stream(stream::iter(parts).flatten()),
    ))
}

/// A name inside a quoted header parameter: no quote, CR or LF can end it early.
fn quoted(s: &str) -> String {
    s.replace('"', "%22").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fields_then_files_framed_by_the_boundary() {
        let mut form = Multipart::default().text("chat_id", "7").file(FilePart {
            field: "photo".into(),
            file_name: "a\"b.jpg".into(),
            content_type: "image/jpeg".into(),
            body: FileBody::Stream(Some(
                stream::iter([Ok(Bytes::from_static(b"JPEG"))]).boxed(),
            )),
        });
        let (ct, body) = encode(&mut form).unwrap();
        let boundary = ct.strip_prefix("multipart/form-data; boundary=").unwrap();
        let bytes = http_body_util_collect(body).await;
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n7\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a%22b.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n\
                 --{boundary}--\r\n"
            )
        );
        // The stream went with the first attempt.
        assert!(encode(&mut form).is_none());
    }

    async fn http_body_util_collect(body: reqwest::Body) -> Vec<u8> {
        let mut out = Vec::new();
        let mut s = Box::pin(http_body_stream(body));
        while let Some(chunk) = s.next().await {
            out.extend_from_slice(&chunk.unwrap());
        }
        out
    }

    fn http_body_stream(
        body: reqwest::Body,
    ) -> impl futures::Stream<Item = Result<Bytes, reqwest::Error>> {
        // reqwest::Body implements http_body::Body; read its frames as a stream.
        futures::stream::unfold(body, |mut body| async move {
            use std::pin::Pin;
            let frame =
                std::future::poll_fn(|cx| http_body::Body::poll_frame(Pin::new(&mut body), cx))
                    .await?;
            let data = frame.map(|f| f.into_data().unwrap_or_default());
            Some((data, body))
        })
    }
}
