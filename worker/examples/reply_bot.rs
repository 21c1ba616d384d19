//! A small bot behind sluice that replies through the Bot API client (`ctx.bot_api`): `/start`
//! gets a welcome, any other text is echoed, a button press is answered.
//!
//! Run it like `sluice-worker` (same CLI, env and metrics), with the bot's token stored sealed
//! (`sluice-api bots add NAME --secret S --token T`) and the same `SLUICE_SECRETS_KEY`:
//! `DATABASE_URL=postgres://postgres@127.0.0.1/sluice SLUICE_SECRETS_KEY=... cargo run -p sluice-worker --example reply_bot`
//!
//! Every reply waits for its turn under the limits all workers share (per bot, chat and group),
//! so any number of these processes together stay within Telegram's limits. A handler runs at
//! least once per update: a crash between the send and the runtime's record of it sends again.

use serde::Deserialize;
use sluice_worker::handler::{HandlerContext, HandlerError, Origin, Update, UpdateHandler};

#[derive(Deserialize)]
struct Body {
    message: Option<Message>,
    callback_query: Option<CallbackQuery>,
}

#[derive(Deserialize)]
struct Message {
    text: Option<String>,
}

#[derive(Deserialize)]
struct CallbackQuery {
    id: String,
}

pub struct ReplyBot;

impl UpdateHandler for ReplyBot {
    async fn handle(&self, ctx: &HandlerContext, update: &Update) -> Result<(), HandlerError> {
        // Telegram updates only: a signed webhook's event has no bot to answer with.
        let Origin::Telegram { bot, chat, .. } = &update.origin else {
            return Ok(());
        };
        let body: Body = update.json().map_err(HandlerError::permanent)?;
        if let Some(query) = body.callback_query {
            // Not a message: it passes no limiter, so it is never held behind bulk sends.
            ctx.bot_api
                .answer_callback_query(bot, &query.id, Some("Got it"))
                .await?;
            return Ok(());
        }
        let (Some(chat), Some(text)) = (chat, body.message.and_then(|m| m.text)) else {
            return Ok(());
        };
        let reply = if text.starts_with("/start") {
            "Welcome! Send me anything.".to_owned()
        } else {
            format!("You said: {}", text.chars().take(200).collect::<String>())
        };
        ctx.bot_api.send_message(bot, *chat, &reply).await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sluice_worker::run(ReplyBot).await
}
