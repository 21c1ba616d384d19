//! A reply as `multipart/form-data` (aiogram answers so): text parts are parameters, parts with
//! a file name are files. multer (axum's parser) does the format, bounded by the reply's limits.

use std::convert::Infallible;

use bytes::Bytes;
use multer::{Constraints, Multipart, SizeLimit};

use super::{FilePart, MAX_BYTES, MAX_FIELDS, Param, ReplyError, WebhookReply, reply};

const MALFORMED: ReplyError = ReplyError::Malformed("multipart/form-data");

/// The reply in a multipart `body` whose `Content-Type` is `content_type`.
pub async fn parse(content_type: &str, body: Bytes) -> Result<Option<WebhookReply>, ReplyError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| MALFORMED)?;
    let limits = SizeLimit::new()
        .whole_stream(MAX_BYTES as u64)
        .per_field(MAX_BYTES as u64);
    let stream = futures::stream::once(async move { Ok::<_, Infallible>(body) });
    let mut parts =
        Multipart::with_constraints(stream, boundary, Constraints::new().size_limit(limits));
    let mut method = None;
    let mut params = Vec::new();
    while let Some(part) = parts.next_field().await.map_err(problem)? {
        let name = part.name().ok_or(MALFORMED)?.to_owned();
        let file_name = part.file_name().map(str::to_owned);
        let content_type = part.content_type().map(ToString::to_string);
        let bytes = part.bytes().await.map_err(problem)?;
        let param = match file_name {
            Some(file_name) => Param::File(FilePart {
                file_name,
                content_type,
                bytes,
            }),
            None => Param::Text(String::from_utf8(bytes.to_vec()).map_err(|_| MALFORMED)?),
        };
        match (name.as_str(), param) {
            ("method", Param::Text(m)) => method = Some(m),
            ("method", _) => return Err(ReplyError::MethodNotText),
            (_, param) => params.push((name, param)),
        }
        if params.len() > MAX_FIELDS {
            return Err(ReplyError::TooManyFields);
        }
    }
    reply(method, params)
}

fn problem(e: multer::Error) -> ReplyError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            ReplyError::TooLarge
        }
        _ => MALFORMED,
    }
}
