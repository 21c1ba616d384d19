// lib/traffic.js: the traffic model of issue 7's profiles: which bot, which chat, which kind of
// update, and the update's body.
//
// - Bots: every bot of the bots file, popularity Zipf(s = 1.0) in file order.
// - Chats: 2000 per bot, popularity Zipf(s = 1.0); 60 % private chats (id = the user's id, some
//   above 2^32), 40 % supergroups (-100xxxxxxxxxx) whose members also follow Zipf.
// - Kinds (KIND_MIX): message 70 % (text 45 + bot commands 10 = text 55, photo 7, sticker 5,
//   voice/document/location 1 each), edited_message 5, callback_query 12, my_chat_member 1,
//   channel_post 2, edited_channel_post 1, message_reaction 4, inline_query 2, chat_member 1,
//   pre_checkout_query 1, chat_join_request 1.
// - Bodies: the Bot API's shapes (lib/telegram.js), MIN_BODY..MAX_BODY bytes of UTF-8: a body
//   under the floor gets more text (or a caption, a changed reaction...), one over it less text.
// - update_id: the caller's (updateIdOf): unique per run, so unique per bot.
//
// Pure JavaScript, no k6 imports: node imports this module as it is to check the model.

import { between, hash, hashString, utf8Length, weighted, zipfCdf, zipfRank } from './random.js';
import * as tg from './telegram.js';

export const ZIPF_S = 1.0;
export const CHATS_PER_BOT = 2000;
export const PRIVATE_SHARE = 0.6;
export const GROUP_MEMBERS = 1000;
export const CHANNELS_PER_BOT = 20;
export const MIN_BODY = 300;
export const MAX_BODY = 4096;

/** Percentages of the update kinds; message sorts (text, command, photo...) are `message`s. */
export const KIND_MIX = {
  text: 45, command: 10, photo: 7, sticker: 5, voice: 1, document: 1, location: 1,
  edited_message: 5, callback_query: 12, my_chat_member: 1, channel_post: 2, edited_channel_post: 1,
  message_reaction: 4, inline_query: 2, chat_member: 1, pre_checkout_query: 1, chat_join_request: 1,
};

/** Plain messages only (the normal lane; no commands, which go to the high lane). */
export const MESSAGE_MIX = { text: 45, photo: 7, sticker: 5, voice: 1, document: 1, location: 1 };

const MESSAGE_SORTS = { text: 1, command: 1, photo: 1, sticker: 1, voice: 1, document: 1, location: 1 };

/**
 * The first update_id of a run: the start time in ms times 1000, so that runs started at least a
 * second apart never share ids unless one sends a million updates per second. Below 2^53 until
 * the year 2255, so JSON numbers stay exact.
 */
export function updateIdBase(nowMs) {
  return Math.floor(nowMs) * 1000;
}

/** Iteration `iteration` of scenario `slot` (of `slots`): interleaved, so never shared. */
export function updateIdOf(base, iteration, slot, slots) {
  return base + iteration * slots + slot;
}

/** A bot of the bots file with the identity Telegram would show for it. */
export function describeBot(entry, index) {
  const key = hashString(entry.name);
  const handle = entry.name.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 28);
  return { name: entry.name, secret: entry.secret, index: index, key: key,
    username: /bot$/i.test(handle) ? handle : `${handle}_bot`, title: `Load Bot ${index + 1}`,
    userId: 6000000000 + (key % 1000000000) };
}

/**
 * The JSON body of one update, within MIN_BODY..MAX_BODY: a small one grows (tg.grow: more text,
 * a caption...), an over-long text is cut.
 */
export function encodeUpdate(updateId, kind, value, rng) {
  const update = { update_id: updateId };
  update[kind] = value;
  let body = JSON.stringify(update);
  for (let i = 0; i < 20 && utf8Length(body) < MIN_BODY && tg.grow(rng || Math.random, value); i++) {
    body = JSON.stringify(update);
  }
  let excess = utf8Length(body) - MAX_BODY;
  const holder = value.text !== undefined ? 'text' : value.caption !== undefined ? 'caption' : null;
  while (excess > 0 && holder && value[holder].length > 0) {
    // Each character is at least one byte: cutting `excess` characters is enough or nearly.
    let text = value[holder].slice(0, Math.max(0, value[holder].length - excess));
    const last = text.charCodeAt(text.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) text = text.slice(0, -1); // no half surrogate pair
    value[holder] = text;
    const entities = holder === 'text' ? 'entities' : 'caption_entities';
    if (value[entities]) {
      value[entities] = value[entities].filter((e) => e.offset + e.length <= text.length);
      if (value[entities].length === 0) delete value[entities];
    }
    body = JSON.stringify(update);
    excess = utf8Length(body) - MAX_BODY;
  }
  return body;
}

export class Traffic {
  /**
   * `bots`: [{name, secret}] (the bots file). Options: `rng` (default Math.random), `now`
   * (ms clock, default Date.now), `chatsPerBot`, `s` (the Zipf exponent).
   */
  constructor(bots, options) {
    const o = options || {};
    if (!bots || bots.length === 0) throw new Error('traffic: no bots');
    this.bots = bots.map(describeBot);
    this.rng = o.rng || Math.random;
    this.now = o.now || Date.now;
    const s = o.s === undefined ? ZIPF_S : o.s;
    this.botCdf = zipfCdf(this.bots.length, s);
    this.chatCdf = zipfCdf(o.chatsPerBot || CHATS_PER_BOT, s);
    this.memberCdf = zipfCdf(GROUP_MEMBERS, s);
    this.kind = weighted(KIND_MIX);
    this.messageSort = weighted(MESSAGE_MIX);
  }

  /** A bot by popularity. */
  pickBot() {
    return this.bots[zipfRank(this.botCdf, this.rng)];
  }

  /** The chat of popularity rank `rank` among the bot's chats: private or a supergroup. */
  chat(bot, rank) {
    const key = hash(bot.key, rank);
    if ((hash(key, 11) % 1000) < PRIVATE_SHARE * 1000) return this.privatePlace(key);
    return this.groupPlace(key);
  }

  /** A chat of the bot by popularity. */
  pickChat(bot) {
    return this.chat(bot, zipfRank(this.chatCdf, this.rng));
  }

  privatePlace(key) {
    const owner = tg.user(key);
    return { key: key, group: false, owner: owner, chat: tg.privateChat(owner) };
  }

  groupPlace(key) {
    return { key: key, group: true, owner: null, chat: tg.supergroup(key) };
  }

  /** Who speaks in a chat: the private chat's user, or a group member (talkative ones more). */
  speaker(place) {
    if (!place.group) return place.owner;
    return tg.user(hash(place.key, 12, zipfRank(this.memberCdf, this.rng)));
  }

  /** The next update of the model: {bot, updateId, kind, sort, chatId, body}. */
  next(updateId) {
    const bot = this.pickBot();
    return this.build(bot, this.pickChat(bot), this.kind(this.rng), updateId);
  }

  /** A plain message (text, photo, sticker...) in a given chat: flood traffic. */
  messageIn(bot, place, updateId) {
    return this.build(bot, place, this.messageSort(this.rng), updateId);
  }

  /** One update of this sort (a KIND_MIX key) from the bot's chat `place`. */
  build(bot, place, sort, updateId) {
    const rng = this.rng;
    const date = Math.floor(this.now() / 1000);
    const mid = 1 + (updateId % 1999999);
    const from = this.speaker(place);
    let chat = place.chat;
    let kind = sort;
    let value;
    if (MESSAGE_SORTS[sort]) {
      kind = 'message';
      const body = sort === 'command' ? tg.command(rng, bot, place.group) : tg.content(rng, sort);
      let extra = null;
      if (place.group && rng() < 0.15) {
        const other = this.speaker(place);
        extra = { reply_to_message: tg.message(mid - between(rng, 1, 40), other, chat, date - between(rng, 10, 7200),
          tg.content(rng, 'text')) };
      }
      value = tg.message(mid, from, chat, date, body, extra);
    } else if (sort === 'edited_message') {
      value = tg.message(mid - between(rng, 1, 30), from, chat, date - between(rng, 5, 600), tg.content(rng, 'text'),
        { edit_date: date });
    } else if (sort === 'callback_query') {
      value = tg.callbackQuery(rng, bot, from, chat, mid - between(rng, 1, 50), date);
    } else if (sort === 'my_chat_member') {
      value = tg.myChatMember(rng, bot, from, chat, date);
    } else if (sort === 'channel_post' || sort === 'edited_channel_post') {
      chat = tg.channel(hash(bot.key, 13, between(rng, 0, CHANNELS_PER_BOT - 1)));
      value = sort === 'channel_post'
        ? tg.message(mid, null, chat, date, tg.content(rng, rng() < 0.7 ? 'text' : 'photo'))
        : tg.message(mid - between(rng, 1, 30), null, chat, date - between(rng, 5, 600), tg.content(rng, 'text'),
          { edit_date: date });
    } else if (sort === 'message_reaction') {
      value = tg.messageReaction(rng, from, chat, mid - between(rng, 1, 200), date);
    } else if (sort === 'inline_query') {
      chat = null;
      value = tg.inlineQuery(rng, from);
    } else if (sort === 'pre_checkout_query') {
      chat = null;
      value = tg.preCheckoutQuery(rng, from);
    } else if (sort === 'chat_member' || sort === 'chat_join_request') {
      // Group events: a private chat's user meets the bot in one of its groups instead.
      const group = place.group ? place : this.groupPlace(hash(place.key, 14));
      chat = group.chat;
      const who = place.group ? tg.user(hash(place.key, 15, between(rng, 0, 1 << 30))) : from;
      value = sort === 'chat_member' ? tg.chatMember(rng, who, chat, date) : tg.chatJoinRequest(rng, who, chat, date);
    } else {
      throw new Error(`traffic: unknown sort ${sort}`);
    }
    return { bot: bot, updateId: updateId, kind: kind, sort: sort, chatId: chat ? chat.id : null,
      body: encodeUpdate(updateId, kind, value, rng) };
  }
}
