// Runs the k6 side's traffic code under node, for loadtests/tests/traffic_fixtures.rs:
//   node k6.mjs MODEL_JSON SEED N
// prints one JSON line per update the k6 library makes: N of the mixed traffic (50 bots), one
// per quiet chat and per flooding update of the flood profile, and 10 actions of each of 100
// people of the users profile, each with what the library says about it (part, bot, kind, sort,
// lane, chatId, userId, behaviour) and its body.
import { readFileSync } from 'node:fs';
import { Traffic, update } from '../../k6/lib/traffic.js';
import { Users } from '../../k6/lib/users.js';

const [modelPath, seedText, countText] = process.argv.slice(2);
const model = JSON.parse(readFileSync(modelPath, 'utf8'));

/** mulberry32: a small seeded generator, so that a failing seed can be run again. */
function seeded(seed) {
  let a = seed >>> 0;
  return function rng() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rng = seeded(Number(seedText));
const bots = Array.from({ length: 50 }, (_, i) => ({ name: `load-test-${i}`, secret: `secret-${i}` }));
let id = 1000 * Number(seedText);
const out = [];
const emit = (part, u) => out.push(JSON.stringify({ part: part, bot: u.bot.name, kind: u.kind, sort: u.sort,
  lane: u.lane, chatId: u.chatId, userId: u.userId, behaviour: u.behaviour || null, body: u.body }));

const traffic = new Traffic(bots, model.mixed, { rng: rng });
for (let i = 0; i < Number(countText); i++) emit('mixed', traffic.next(id++));
model.quiet.forEach((entry) => emit('quiet', update(bots[0], entry, id++)));
model.flooding.forEach((entry) => emit('flooding', update(bots[0], entry, id++)));
const users = new Users(bots, model.people, { rng: rng });
for (let n = 1; n <= 100; n++) {
  const person = users.person(n);
  for (let i = 0; i < 10; i++) emit('people', users.act(person, id++));
}
process.stdout.write(`${out.join('\n')}\n`);
