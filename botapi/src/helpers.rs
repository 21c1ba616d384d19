//! Typed helpers for the methods a bot uses most; each is [`BotApi::call`] with its parameters
//! built for it. Anything they do not cover (keyboards, parse modes) goes through `call`.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::{
    BotApi,
    error::BotApiError,
    params::{FilePart, Multipart, Params},
};

/// The parts of a sent `Message` a handler usually needs; the rest stays in `other`.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub chat: MessageChat,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MessageChat {
    pub id: i64,
}

/// A photo for `sendPhoto`.
pub enum Photo {
    /// An HTTP URL Telegram fetches itself.
    Url(String),
    /// A `file_id` of a photo already on Telegram's servers.
    FileId(String),
    /// A new upload (multipart; a streamed body is sent once, never buffered whole).
    Upload(FilePart),
}

impl BotApi {
    /// `sendMessage`: `text` to `chat_id`.
    pub async fn send_message(
        &self,
        bot: &str,
        chat_id: i64,
        text: &str,
    ) -> Result<Message, BotApiError> {
        let params = Params::json(json!({"chat_id": chat_id, "text": text}))?;
        message(self.call(bot, "sendMessage", params).await?)
    }

    /// `answerCallbackQuery`: stops the button's spinner, with an optional notification text.
    /// Passes no limiter: it is not a message.
    pub async fn answer_callback_query(
        &self,
        bot: &str,
        callback_query_id: &str,
        text: Option<&str>,
    ) -> Result<(), BotApiError> {
        let mut params = json!({"callback_query_id": callback_query_id});
        if let Some(text) = text {
            params["text"] = text.into();
        }
        self.call(bot, "answerCallbackQuery", Params::json(params)?)
            .await
            .map(drop)
    }

    /// `editMessageText` of a message the bot sent to `chat_id`.
    pub async fn edit_message_text(
        &self,
        bot: &str,
        chat_id: i64,
        message_id: i64,
        text: &str,
    ) -> Result<(), BotApiError> {
        let params =
            Params::json(json!({"chat_id": chat_id, "message_id": message_id, "text": text}))?;
        self.call(bot, "editMessageText", params).await.map(drop)
    }

    /// `sendPhoto` to `chat_id` by URL, file id or upload, with an optional caption.
    pub async fn send_photo(
        &self,
        bot: &str,
        chat_id: i64,
        photo: Photo,
        caption: Option<&str>,
    ) -> Result<Message, BotApiError> {
        let params = match photo {
            Photo::Url(reference) | Photo::FileId(reference) => {
                let mut p = json!({"chat_id": chat_id, "photo": reference});
                if let Some(caption) = caption {
                    p["caption"] = caption.into();
                }
                Params::json(p)?
            }
            Photo::Upload(mut part) => {
                let mut form = Multipart::default().text("chat_id", chat_id.to_string());
                if let Some(caption) = caption {
                    form = form.text("caption", caption);
                }
                part.field = "photo".into();
                Params::Multipart(form.file(part))
            }
        };
        message(self.call(bot, "sendPhoto", params).await?)
    }
}

fn message(result: Value) -> Result<Message, BotApiError> {
    serde_json::from_value(result)
        .map_err(|e| BotApiError::BadAnswer(format!("not a Message: {e}")))
}
