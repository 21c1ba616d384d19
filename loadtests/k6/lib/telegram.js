// lib/telegram.js: Bot API objects with the shapes Telegram sends: users, chats, message contents
// and one builder per update kind. The traffic model (lib/traffic.js) and the users model
// (lib/users.js) decide who says what where; this module only knows what it looks like.
//
// Pure JavaScript (no k6 imports). Objects are built in Telegram's own field order and sent as
// JSON.stringify output; ids follow Telegram's ranges: users up to ~8e9 (some above 2^32),
// supergroups and channels -100 followed by 10 digits.

import { between, fileId, hash, pick, unit } from './random.js';

const FIRST = ['Ada', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Edsger',
  'Hedy', 'Alan', 'Radia', 'José', 'Zoë', 'Łukasz', 'Søren', 'Ana', 'Mikhail', 'Aiko', 'Olúmìdé'];
const LAST = ['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie',
  'Allen', 'Dijkstra', 'Lamarr', 'Turing', 'Perlman', 'García', 'Kowalski', 'Nielsen'];
const LANGS = ['en', 'en', 'en', 'en', 'de', 'es', 'pt-br', 'ru', 'uk', 'fr', 'it', 'tr', 'id'];
const TITLES = ['Rust Beginners', 'Weekend Hikers 🏔', 'Café du Coin', 'Release Engineering',
  'Board Games Night', 'Kyiv Tech Meetup', 'Photography ✨', 'Sourdough Club', 'Crypto Signals 📈',
  'Parents of 3B', 'Flat 12 neighbours', 'Startup Founders Berlin'];
const SENTENCES = [
  'ok', 'Thanks! 🙏', 'see you tomorrow at 10?', 'lol', '+1', 'where are you?', 'on my way 🚗',
  'Can someone share the link to yesterday\'s slides, please?',
  'I pushed the fix, the build is green again. Let me know if the deploy looks fine on your side.',
  'Привет! Напомни, пожалуйста, во сколько начинается встреча в четверг?',
  'Der Zug hat wieder 20 Minuten Verspätung, fangt bitte ohne mich an.',
  '¿Alguien tiene un cargador USB-C que me pueda prestar mañana? Se me olvidó el mío en casa 😅',
  'Here is the plan for Saturday: meet at the station at 8:15, train at 8:32, lunch at the hut.',
  'Quick reminder: the quarterly report is due on Friday, please upload your section by Thursday.',
  'Order #48213 still shows "processing", can you check what is going on with it?',
  'Bugün akşam maça gidiyor muyuz? Biletleri ben alabilirim.',
  'Je serai en retard de dix minutes, commencez sans moi.',
  'https://example.com/articles/2025/why-queues-fail-and-how-to-notice-it-early',
];
const EMOJI = ['👍', '❤', '🔥', '🎉', '😁', '👏', '🤔', '😂', '🙏', '💯'];
const STICKER_SETS = ['HotCherry', 'Animals', 'UtyaDuck', 'PepeTheFrog', 'CatsAreCute'];
const DOCS = [['report-q3.pdf', 'application/pdf'], ['photo.HEIC', 'image/heic'],
  ['invoice_48213.pdf', 'application/pdf'], ['notes.txt', 'text/plain'],
  ['backup.zip', 'application/zip']];

// ---- people and chats --------------------------------------------------------------------------

/** The user behind a 32-bit key: 60 % with ids below 2^32 (older accounts), 40 % above. */
export function user(key) {
  const a = unit(hash(key, 1));
  const b = unit(hash(key, 2));
  const old = a < 0.6;
  const id = old ? 100000000 + Math.floor(b * 4000000000) : 5000000000 + Math.floor(b * 3000000000);
  const first = FIRST[hash(key, 3) % FIRST.length];
  const u = { id: id, is_bot: false, first_name: first };
  if (a * 10 % 1 < 0.7) u.last_name = LAST[hash(key, 4) % LAST.length];
  if (a * 100 % 1 < 0.6) u.username = `${first.toLowerCase().replace(/[^a-z]/g, '')}_${key % 100000}`;
  u.language_code = LANGS[hash(key, 5) % LANGS.length];
  if (b * 10 % 1 < 0.08) u.is_premium = true;
  return u;
}

/** A bot as Telegram shows it in `from` of its own messages. */
export function botUser(bot) {
  return { id: bot.userId, is_bot: true, first_name: bot.title, username: bot.username };
}

/** The private chat with a user: its id is the user's id. */
export function privateChat(u) {
  const c = { id: u.id, first_name: u.first_name };
  if (u.last_name) c.last_name = u.last_name;
  if (u.username) c.username = u.username;
  c.type = 'private';
  return c;
}

/** -100 followed by 10 digits, as Telegram numbers supergroups and channels. */
function hundredId(key) {
  return -(1000000000000 + 1000000000 + Math.floor(unit(hash(key, 6)) * 8999999999));
}

export function supergroup(key) {
  const c = { id: hundredId(key), title: TITLES[hash(key, 7) % TITLES.length] };
  if (hash(key, 8) % 3 === 0) c.username = `group_${key % 1000000}`;
  c.type = 'supergroup';
  if (hash(key, 9) % 10 === 0) c.is_forum = true;
  return c;
}

export function channel(key) {
  return { id: hundredId(key ^ 0x5bd1e995), title: `${TITLES[hash(key, 7) % TITLES.length]} News`,
    username: `channel_${key % 1000000}`, type: 'channel' };
}

// ---- message contents --------------------------------------------------------------------------

/** Chat text of realistic length: mostly short, some paragraphs, a few near Telegram's limit. */
export function chatText(rng) {
  const r = rng();
  const sentences = r < 0.5 ? 1 : r < 0.85 ? between(rng, 2, 3) : r < 0.97 ? between(rng, 4, 10) : between(rng, 25, 40);
  const parts = [];
  for (let i = 0; i < sentences; i++) parts.push(pick(rng, SENTENCES));
  return parts.join(sentences > 6 && rng() < 0.5 ? '\n\n' : ' ');
}

function photoSize(rng, width, height, bytes) {
  return { file_id: `AgACAgIAAxkBAAI${fileId(rng, 67)}`, file_unique_id: `AQAD${fileId(rng, 12)}`,
    file_size: bytes + between(rng, 0, bytes >> 2), width: width, height: height };
}

/** The content fields of a message of this sort: text, photo, sticker, voice, document, location. */
export function content(rng, sort) {
  switch (sort) {
    case 'photo': {
      const c = { photo: [photoSize(rng, 90, 67, 1200), photoSize(rng, 320, 240, 14000),
        photoSize(rng, 800, 600, 60000), photoSize(rng, 1280, 960, 120000)] };
      if (rng() < 0.4) c.caption = pick(rng, SENTENCES);
      return c;
    }
    case 'sticker': {
      const thumb = { file_id: `AAMCAgADGQEAAQ${fileId(rng, 62)}`, file_unique_id: `AQAD${fileId(rng, 12)}`,
        file_size: between(rng, 3000, 9000), width: 128, height: 128 };
      return { sticker: { width: 512, height: 512, emoji: pick(rng, EMOJI), set_name: pick(rng, STICKER_SETS),
        is_animated: false, is_video: rng() < 0.3, type: 'regular', thumbnail: thumb,
        file_id: `CAACAgIAAxkBAAI${fileId(rng, 56)}`, file_unique_id: `AgAD${fileId(rng, 12)}`,
        file_size: between(rng, 15000, 60000) } };
    }
    case 'voice':
      return { voice: { duration: between(rng, 1, 90), mime_type: 'audio/ogg',
        file_id: `AwACAgIAAxkBAAI${fileId(rng, 60)}`, file_unique_id: `AgAD${fileId(rng, 12)}`,
        file_size: between(rng, 4000, 400000) } };
    case 'document': {
      const doc = pick(rng, DOCS);
      return { document: { file_name: doc[0], mime_type: doc[1],
        file_id: `BQACAgIAAxkBAAI${fileId(rng, 60)}`, file_unique_id: `AgAD${fileId(rng, 12)}`,
        file_size: between(rng, 2000, 8000000) }, caption: pick(rng, SENTENCES) };
    }
    case 'location':
      return { location: { latitude: Math.round((rng() * 120 - 60) * 1e6) / 1e6,
        longitude: Math.round((rng() * 340 - 170) * 1e6) / 1e6 } };
    default: {
      const text = chatText(rng);
      const c = { text: text };
      const link = text.indexOf('https://');
      if (link >= 0) c.entities = [{ offset: link, length: text.length - link, type: 'url' }];
      return c;
    }
  }
}

/** A bot command as typed: `/help`, `/start ref_x` (a deep link), `/settings@bot` in groups. */
export function command(rng, bot, inGroup) {
  const name = pick(rng, ['/start', '/start', '/help', '/settings', '/menu', '/stats', '/subscribe', '/stop', '/lang']);
  const typed = inGroup && rng() < 0.6 ? `${name}@${bot.username}` : name;
  const text = name === '/start' && rng() < 0.3 ? `${typed} ref_${fileId(rng, 8)}` : typed;
  return { text: text, entities: [{ offset: 0, length: typed.length, type: 'bot_command' }] };
}

/** Text that mentions the bot, with its `mention` entity (UTF-16 offsets, as Telegram counts). */
export function mention(rng, bot) {
  const before = rng() < 0.5 ? '' : `${pick(rng, ['hey', 'pls', 'yo', 'привет'])} `;
  const handle = `@${bot.username}`;
  return { text: `${before}${handle} ${chatText(rng)}`,
    entities: [{ offset: before.length, length: handle.length, type: 'mention' }] };
}

/** A message object; `extra` fields (edit_date, reply_to_message...) go before the content. */
export function message(id, from, chat, date, body, extra) {
  const m = { message_id: id };
  if (from) m.from = from;
  if (chat.type === 'channel') m.sender_chat = chat;
  m.chat = chat;
  m.date = date;
  if (extra) Object.assign(m, extra);
  return Object.assign(m, body);
}

/** An inline keyboard a bot attaches to its messages; callback queries answer one of its buttons. */
export function keyboard(rng, messageId) {
  const data = pick(rng, ['vote', 'page', 'lang', 'buy', 'menu']);
  return { inline_keyboard: [
    [{ text: '👍 Yes', callback_data: `${data}:yes:${messageId}` }, { text: '👎 No', callback_data: `${data}:no:${messageId}` }],
    [{ text: '« Back', callback_data: `menu:back:${messageId}` }, { text: 'Next »', callback_data: `page:2:${messageId}` }],
  ] };
}

/** A user pressing a button on one of the bot's messages. */
export function callbackQuery(rng, bot, from, chat, messageId, date) {
  const markup = keyboard(rng, messageId);
  const pressed = pick(rng, markup.inline_keyboard[0].concat(markup.inline_keyboard[1]));
  const shown = message(messageId, botUser(bot), chat, date - between(rng, 5, 3600),
    { text: pick(rng, ['Pick one:', 'Do you want to subscribe to daily updates?', 'Choose your language 🌍', 'Page 1 of 7']),
      reply_markup: markup });
  return { id: `${between(rng, 1000000, 9999999)}${between(rng, 100000000, 999999999)}`, from: from,
    message: shown, chat_instance: `${rng() < 0.5 ? '-' : ''}${between(rng, 100000000, 999999999)}${between(rng, 100000000, 999999999)}`,
    data: pressed.callback_data };
}

/** The bot's own membership changing: added to a group, or blocked/unblocked in private. */
export function myChatMember(rng, bot, from, chat, date) {
  const joined = rng() < 0.5;
  const member = (status) => ({ user: botUser(bot), status: status });
  // [outside, inside]: a private chat's user blocks (kicked) or restarts the bot.
  const states = chat.type === 'private' ? ['kicked', 'member'] : ['left', 'member'];
  return { chat: chat, from: from, date: date,
    old_chat_member: member(joined ? states[0] : states[1]),
    new_chat_member: member(joined ? states[1] : states[0]) };
}

/** A member joining or leaving a group the bot administers. */
export function chatMember(rng, from, chat, date) {
  const joined = rng() < 0.7;
  return { chat: chat, from: from, date: date,
    old_chat_member: { user: from, status: joined ? 'left' : 'member' },
    new_chat_member: { user: from, status: joined ? 'member' : 'left' } };
}

export function messageReaction(rng, user_, chat, messageId, date) {
  return { chat: chat, message_id: messageId, user: user_, date: date, old_reaction: [],
    new_reaction: [{ type: 'emoji', emoji: pick(rng, EMOJI) }] };
}

export function inlineQuery(rng, from) {
  return { id: `${between(rng, 100000000, 999999999)}${between(rng, 1000000, 9999999)}`, from: from,
    chat_type: pick(rng, ['private', 'sender', 'supergroup']),
    query: pick(rng, ['', 'cat', 'weather berlin', 'gif happy birthday', 'translate привет']), offset: '' };
}

/** A payment about to be made: the bot must answer within 10 s (high lane). */
export function preCheckoutQuery(rng, from) {
  const order = between(rng, 10000, 99999);
  const q = { id: `${between(rng, 100000000, 999999999)}${between(rng, 1000000, 9999999)}`, from: from,
    currency: pick(rng, ['EUR', 'USD', 'XTR', 'GBP']), total_amount: between(rng, 100, 250000),
    invoice_payload: `order:${order}:${fileId(rng, 24)}` };
  q.order_info = { name: from.first_name, email: `buyer${order}@example.com` };
  if (rng() < 0.5) {
    q.order_info.shipping_address = { country_code: pick(rng, ['DE', 'ES', 'UA', 'BR', 'US']), state: '',
      city: pick(rng, ['Berlin', 'Madrid', 'Kyiv', 'São Paulo', 'Austin']), street_line1: `${between(rng, 1, 200)} Main Street`,
      street_line2: '', post_code: `${between(rng, 10000, 99999)}` };
  }
  return q;
}

/** One more sentence of chat text (to grow a body that came out under the floor). */
export function sentence(rng) {
  return pick(rng, SENTENCES);
}

/**
 * Makes a too-small update value a little larger with fields Telegram does send: more text or a
 * caption, a changed reaction, an inline query's location. False when there is nothing to grow.
 */
export function grow(rng, value) {
  if (value.text !== undefined) value.text += ` ${sentence(rng)}`;
  else if (value.caption !== undefined) value.caption += ` ${sentence(rng)}`;
  else if (value.location && value.location.live_period === undefined) {
    Object.assign(value.location, { horizontal_accuracy: between(rng, 5, 60), live_period: 900,
      heading: between(rng, 1, 360) });
  } else if (value.message_id && !value.sticker && !value.location) {
    value.caption = sentence(rng); // a photo, voice note or document without one
  } else if (value.new_reaction) value.old_reaction.push({ type: 'emoji', emoji: pick(rng, EMOJI) });
  else if (value.query !== undefined && !value.location) {
    value.location = { latitude: Math.round((rng() * 120 - 60) * 1e6) / 1e6, longitude: Math.round((rng() * 340 - 170) * 1e6) / 1e6 };
  } else if (value.query !== undefined) value.query += ` ${pick(rng, ['near me', 'today', 'funny', 'новости'])}`;
  else return false;
  return true;
}

export function chatJoinRequest(rng, from, chat, date) {
  return { chat: chat, from: from, user_chat_id: from.id, date: date,
    bio: pick(rng, ['', 'Software engineer. Coffee first.', 'Фотограф, Киев', 'just here for the memes']),
    invite_link: { invite_link: `https://t.me/+${fileId(rng, 16)}`, creator: from, creates_join_request: true,
      is_primary: false, is_revoked: false, name: 'join requests' } };
}
