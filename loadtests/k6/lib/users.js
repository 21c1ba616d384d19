// lib/users.js: the `users` profile's people: 100 simulated users of 50 bots, each acting every
// 0.5-3 s with one of three behaviours (issue 7):
//   normal  60 %  a private message to one of the user's bots, or a command (/start, /help...)
//   mention 25 %  "@the_bot ..." in a supergroup the user shares with the bot
//   reply   15 %  a reply to one of the bot's messages, or a press on its inline keyboard
// Each user talks to 1-3 bots (the first dealt round so every bot has users, the others by the
// bots' Zipf popularity) and sits in 2 of each bot's 10 groups, shared with other users.
//
// Pure JavaScript, no k6 imports (node checks it as it is).

import { between, hash, pick, weighted, zipfCdf, zipfRank } from './random.js';
import * as tg from './telegram.js';
import { ZIPF_S, describeBot, encodeUpdate } from './traffic.js';

export const BEHAVIOURS = { normal: 60, mention: 25, reply: 15 };
export const GROUPS_PER_BOT = 10;
export const THINK_MIN_S = 0.5;
export const THINK_MAX_S = 3;

export class Users {
  /** `bots`: [{name, secret}], the bots of the profile. Options: `rng`, `now` (ms clock). */
  constructor(bots, options) {
    const o = options || {};
    if (!bots || bots.length === 0) throw new Error('users: no bots');
    this.bots = bots.map(describeBot);
    this.rng = o.rng || Math.random;
    this.now = o.now || Date.now;
    this.botCdf = zipfCdf(this.bots.length, ZIPF_S);
    this.behaviour = weighted(BEHAVIOURS);
  }

  /** Simulated user number `n` (the VU): who they are, their bots, their groups. */
  person(n) {
    const key = hash(0x75736572, n);
    const me = tg.user(key);
    const count = Math.min(this.bots.length, 1 + (hash(key, 21) % 3));
    // Users are dealt round the bots first, so every bot has people; extra bots by popularity.
    const bots = [this.bots[(n - 1 + this.bots.length) % this.bots.length]];
    for (let tries = 0; bots.length < count && tries < 100; tries++) {
      const bot = this.bots[zipfRank(this.botCdf, this.rng)];
      if (bots.indexOf(bot) < 0) bots.push(bot);
    }
    const groups = bots.map((bot) => [0, 1].map((g) => {
      const slot = (hash(key, 22, bot.index, g) % GROUPS_PER_BOT);
      return tg.supergroup(hash(bot.key, 23, slot));
    }));
    return { n: n, user: me, chat: tg.privateChat(me), bots: bots, groups: groups };
  }

  /** Seconds to wait before the next action. */
  think() {
    return THINK_MIN_S + this.rng() * (THINK_MAX_S - THINK_MIN_S);
  }

  /** The person's next action as an update: {bot, updateId, kind, behaviour, chatId, body}. */
  act(person, updateId) {
    const rng = this.rng;
    const b = favourite(rng, person.bots.length);
    const bot = person.bots[b];
    const behaviour = this.behaviour(rng);
    const date = Math.floor(this.now() / 1000);
    const mid = 1 + (updateId % 1999999);
    let kind = 'message';
    let chat = person.chat;
    let value;
    if (behaviour === 'normal') {
      const body = rng() < 0.3 ? tg.command(rng, bot, false)
        : tg.content(rng, pick(rng, ['text', 'text', 'text', 'text', 'text', 'photo', 'sticker', 'voice']));
      value = tg.message(mid, person.user, chat, date, body);
    } else if (behaviour === 'mention') {
      chat = pick(rng, person.groups[b]);
      value = tg.message(mid, person.user, chat, date, tg.mention(rng, bot));
    } else if (rng() < 0.5) {
      // A reply to the bot's message, mostly in private, sometimes in a shared group.
      if (rng() < 0.3) chat = pick(rng, person.groups[b]);
      const theirs = tg.message(mid - between(rng, 1, 20), tg.botUser(bot), chat, date - between(rng, 2, 900),
        { text: pick(rng, ['What would you like to do?', 'Done ✅ Anything else?', 'Send me the order number, please.',
          'Your subscription ends in 3 days. Renew?']) });
      value = tg.message(mid, person.user, chat, date, tg.content(rng, 'text'), { reply_to_message: theirs });
    } else {
      kind = 'callback_query';
      value = tg.callbackQuery(rng, bot, person.user, chat, mid - between(rng, 1, 20), date);
    }
    return { bot: bot, updateId: updateId, kind: kind, behaviour: behaviour, chatId: chat.id,
      body: encodeUpdate(updateId, kind, value, rng) };
  }
}

/** Index of the bot a person talks to: the first is the favourite (weights n, n-1, ..., 1). */
function favourite(rng, n) {
  let u = rng() * (n * (n + 1)) / 2;
  for (let i = 0; i < n; i++) {
    u -= n - i;
    if (u < 0) return i;
  }
  return n - 1;
}
