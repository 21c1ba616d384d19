"""An echo bot on python-telegram-bot's own webhook server (tornado), with its secret-token check."""

import os

from telegram import Update
from telegram.ext import Application, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.message.reply_text("echo: " + update.message.text)


def main() -> None:
    port = int(os.environ["PORT"])
    app = (
        Application.builder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["API_BASE"] + "/bot")
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.run_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="hook",
        secret_token=os.environ["WEBHOOK_SECRET"],
        webhook_url=f"http://127.0.0.1:{port}/hook",
    )


if __name__ == "__main__":
    main()
