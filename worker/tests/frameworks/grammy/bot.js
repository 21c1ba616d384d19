// An echo bot on grammY's webhookCallback (node's http), with its secret-token check. Webhook
// replies are on for sendMessage, so the echo goes back in the webhook's answer as JSON; with
// WEBHOOK_REPLY=off the bot sends it itself, to API_BASE (sluice's Bot API proxy in the test).
const http = require("node:http");
const { Bot, webhookCallback } = require("grammy");

const bot = new Bot(process.env.BOT_TOKEN, {
  // Known up front, so grammY needs no getMe call before handling updates.
  botInfo: {
    id: Number(process.env.BOT_TOKEN.split(":")[0]),
    is_bot: true,
    first_name: "Echo",
    username: "echo_bot",
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  },
  client: {
    apiRoot: process.env.API_BASE,
    canUseWebhookReply: (method) =>
      process.env.WEBHOOK_REPLY !== "off" && method === "sendMessage",
  },
});

bot.on("message:text", (ctx) => ctx.reply("echo: " + ctx.message.text));

http
  .createServer(webhookCallback(bot, "http", { secretToken: process.env.WEBHOOK_SECRET }))
  .listen(Number(process.env.PORT), "127.0.0.1");
