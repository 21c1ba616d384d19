// lib/traffic.js: the traffic of the profiles. The updates come pre-rendered from the Rust
// traffic model (loadtests/src/traffic), which `sluice-load traffic export` writes into
// lib/model.generated.json (see lib/model.js): chats by popularity, kinds by each chat's mix,
// bodies of the Bot API's shape, the lane each kind goes to. This module adds what only a run
// knows:
// - the bot: every bot of the bots file, popularity Zipf(s = 1.0) in file order, as the model's;
// - the update_id: the caller's (updateIdOf), unique per run, so unique per bot.
// A body is `{"update_id":<id>` followed by the entry's `rest`.
//
// Pure JavaScript, no k6 imports: node imports this module as it is to check it against the
// model (loadtests/tests/traffic_fixtures.rs).

import { pick, zipfCdf, zipfRank } from './random.js';

/** The model's bot popularity (loadtests/src/traffic.rs, `Population::new`). */
export const ZIPF_S = 1.0;

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

/**
 * The update of a model entry ({kind, field, lane, chat, user, rest}) to `bot` ({name, secret})
 * with this update_id: {bot, updateId, kind (the Bot API field), sort (the model's kind), lane,
 * chatId, userId, body}.
 */
export function update(bot, entry, updateId) {
  return { bot: bot, updateId: updateId, kind: entry.field, sort: entry.kind, lane: entry.lane,
    chatId: entry.chat, userId: entry.user, body: `{"update_id":${updateId}${entry.rest}` };
}

export class Traffic {
  /**
   * `bots`: [{name, secret}] (the bots file); `mixed`: the model's mixed updates (modelPart
   * ('mixed', ...), or the parsed file's `mixed` under node). Options: `rng` (default
   * Math.random).
   */
  constructor(bots, mixed, options) {
    const o = options || {};
    if (!bots || bots.length === 0) throw new Error('traffic: no bots');
    if (!mixed || mixed.length === 0) throw new Error('traffic: the model has no updates (regenerate lib/model.generated.json)');
    this.bots = bots;
    this.mixed = mixed;
    this.rng = o.rng || Math.random;
    this.botCdf = zipfCdf(bots.length, ZIPF_S);
  }

  /** A bot by popularity. */
  pickBot() {
    return this.bots[zipfRank(this.botCdf, this.rng)];
  }

  /** The next update of the model: a bot by popularity, one of the model's updates. */
  next(updateId) {
    const bot = this.pickBot();
    return update(bot, pick(this.rng, this.mixed), updateId);
  }
}
