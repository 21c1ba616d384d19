// lib/users.js: the `users` profile's people: simulated users of the bots, each acting every
// 0.5-3 s. What a person does comes from the Rust model (loadtests/src/traffic/streams.rs,
// exported as the `people` of lib/model.generated.json): each person has a private chat and one
// supergroup shared with others, and actions in the model's proportions:
//   normal  60 %  a private message, or a command (/start, /help...)
//   mention 25 %  "@the_bot ..." in the person's supergroup
//   reply   15 %  a reply to one of the bot's messages, or a press on its inline keyboard
// Each action goes to a bot by popularity (as the model's people do).
//
// Pure JavaScript, no k6 imports (node checks it as it is).

import { pick, zipfCdf, zipfRank } from './random.js';
import { ZIPF_S, update } from './traffic.js';

export const THINK_MIN_S = 0.5;
export const THINK_MAX_S = 3;

export class Users {
  /**
   * `bots`: [{name, secret}], the bots of the profile; `people`: the model's people (a list of
   * each person's actions). Options: `rng`.
   */
  constructor(bots, people, options) {
    const o = options || {};
    if (!bots || bots.length === 0) throw new Error('users: no bots');
    if (!people || people.length === 0) throw new Error('users: the model has no people (regenerate lib/model.generated.json)');
    this.bots = bots;
    this.people = people;
    this.rng = o.rng || Math.random;
    this.botCdf = zipfCdf(bots.length, ZIPF_S);
  }

  /** Simulated user number `n` (the VU, from 1): the model's person n (they repeat past its count). */
  person(n) {
    return { n: n, actions: this.people[(n - 1) % this.people.length] };
  }

  /** Seconds to wait before the next action. */
  think() {
    return THINK_MIN_S + this.rng() * (THINK_MAX_S - THINK_MIN_S);
  }

  /** The person's next action as an update: {bot, updateId, kind, behaviour, chatId, body, ...}. */
  act(person, updateId) {
    const bot = this.bots[zipfRank(this.botCdf, this.rng)];
    const entry = pick(this.rng, person.actions);
    const u = update(bot, entry, updateId);
    u.behaviour = entry.behaviour;
    return u;
  }
}
