"""An echo bot on aiogram's aiohttp webhook handler, with its secret-token check. Returning the
method from the handler makes aiogram answer the webhook with it (multipart/form-data)."""

import os

from aiohttp import web
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler

dp = Dispatcher()


@dp.message()
async def echo(message: Message):
    return message.answer("echo: " + message.text)


def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["API_BASE"]))
    bot = Bot(os.environ["BOT_TOKEN"], session=session)
    app = web.Application()
    SimpleRequestHandler(
        dispatcher=dp,
        bot=bot,
        secret_token=os.environ["WEBHOOK_SECRET"],
        handle_in_background=False,
    ).register(app, path="/hook")
    web.run_app(app, host="127.0.0.1", port=int(os.environ["PORT"]), print=None)


if __name__ == "__main__":
    main()
