//! A small bot behind sluice: answers `/start` by recording an outbound message.
//!
//! Run it like `sluice-worker` (same CLI, env and metrics):
//! `DATABASE_URL=postgres://postgres@127.0.0.1/sluice cargo run -p sluice-worker --example reply_bot`
//!
//! A real bot would call Telegram's sendMessage here; recording the reply in a table keyed on
//! (bot, update_id) keeps the side effect idempotent, since a handler runs at least once.

use serde::Deserialize;
use sluice_worker::handler::{HandlerContext, HandlerError, Origin, Update, UpdateHandler};

#[derive(Deserialize)]
struct Body {
    message: Option<Message>,
}

#[derive(Deserialize)]
struct Message {
    text: Option<String>,
}

pub struct ReplyBot;

impl UpdateHandler for ReplyBot {
    async fn handle(&self, ctx: &HandlerContext, update: &Update) -> Result<(), HandlerError> {
        // Telegram updates in a chat only: a signed webhook's event has no chat to answer.
        let Origin::Telegram {
            bot,
            update_id,
            chat: Some(chat),
            ..
        } = &update.origin
        else {
            return Ok(());
        };
        let body: Body = update.json().map_err(HandlerError::permanent)?;
        let text = body.message.and_then(|m| m.text).unwrap_or_default();
        if !text.starts_with("/start") {
            return Ok(());
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS outbox (bot text, update_id bigint, chat_id bigint, text text,
             PRIMARY KEY (bot, update_id))",
        )
        .persistent(false)
        .execute(&ctx.db)
        .await?;
        sqlx::query("INSERT INTO outbox VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
            .persistent(false)
            .bind(bot)
            .bind(update_id)
            .bind(chat)
            .bind("Welcome! Send me anything.")
            .execute(&ctx.db)
            .await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    sluice_worker::run(ReplyBot).await
}
